// Drives Ferry's SFTP server with JSch (Debian's 0.1.5x: the old JSch enterprise ETL tools bundle), printing one
// JSON line per operation: {"op": ..., "result": "ok" | "refused-clearly" | "FAIL", "detail": ...}.
// Usage: java -cp jsch.jar JschClient.java PORT USER PASSWORD FOLDER FILE BIG_FILE
import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.SftpException;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Vector;

public class JschClient {
  static void report(String op, boolean ok, boolean refused, Object detail) {
    String result = ok ? (refused ? "refused-clearly" : "ok") : "FAIL";
    String d = String.valueOf(detail).replace("\\", "\\\\").replace("\"", "'").replace("\n", " ");
    if (d.length() > 300) d = d.substring(0, 300);
    System.out.println("{\"op\":\"" + op + "\",\"result\":\"" + result + "\",\"detail\":\"" + d + "\"}");
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    String user = args[1], password = args[2], inbox = "/" + args[3] + "/inbox", local = args[4];
    byte[] data = Files.readAllBytes(Paths.get(local));
    JSch jsch = new JSch();
    Session session = jsch.getSession(user, "127.0.0.1", port);
    session.setPassword(password);
    session.setConfig("StrictHostKeyChecking", "no");
    session.connect(20000);
    report("connect", true, false, session.getHostKey().getType());
    ChannelSftp sftp = (ChannelSftp) session.openChannel("sftp");
    sftp.connect(20000);
    sftp.put(local, inbox + "/jsch.csv", ChannelSftp.OVERWRITE);
    report("upload", true, false, data.length);
    sftp.put(args[5], inbox + "/jsch-big.csv", ChannelSftp.OVERWRITE);
    report("upload 50 MB", true, false, Files.size(Paths.get(args[5])));
    Vector<?> list = sftp.ls(inbox);
    report("list", list.toString().contains("jsch.csv"), false, list.size());
    long size = sftp.stat(inbox + "/jsch.csv").getSize();
    report("stat", size == data.length, false, size);
    ByteArrayOutputStream back = new ByteArrayOutputStream();
    sftp.get(inbox + "/jsch.csv", back);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    boolean same = Arrays.equals(sha.digest(back.toByteArray()), MessageDigest.getInstance("SHA-256").digest(data));
    report("download", same, false, back.size());
    sftp.put(local, inbox + "/jsch.csv.part", ChannelSftp.OVERWRITE);
    sftp.rename(inbox + "/jsch.csv.part", inbox + "/jsch-renamed.csv");
    report("temp-name-then-rename", sftp.ls(inbox).toString().contains("jsch-renamed.csv"), false, "");
    sftp.put(local, inbox + "/jsch.csv", ChannelSftp.OVERWRITE);
    report("overwrite", true, false, "");
    // Half a file on the server, then a resume of the whole: JSch opens it to append the rest.
    sftp.put(new java.io.ByteArrayInputStream(Arrays.copyOf(data, data.length / 2)), inbox + "/jsch-partial.csv");
    try {
      sftp.put(local, inbox + "/jsch-partial.csv", ChannelSftp.RESUME);
      report("resume", false, false, "accepted");
    } catch (SftpException e) {
      report("resume", String.valueOf(e.getMessage()).contains("not supported"), true, e.getMessage());
    }
    sftp.disconnect();
    session.disconnect();
  }
}
