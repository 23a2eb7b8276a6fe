// Drives Ferry's FTP server with Apache Commons Net's FTPSClient (explicit TLS), as a Java poller would,
// printing one JSON line per operation: {"op": ..., "result": "ok" | "refused-clearly" | "FAIL", "detail": ...}.
// Usage: java -cp commons-net.jar CommonsNetClient.java PORT USER PASSWORD FOLDER FILE BIG_FILE
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.Arrays;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPFile;
import org.apache.commons.net.ftp.FTPSClient;
import org.apache.commons.net.util.TrustManagerUtils;

public class CommonsNetClient {
  static void report(String op, boolean ok, boolean refused, Object detail) {
    String result = ok ? (refused ? "refused-clearly" : "ok") : "FAIL";
    String d = String.valueOf(detail).replace("\\", "\\\\").replace("\"", "'").replace("\n", " ").replace("\r", "");
    if (d.length() > 300) d = d.substring(0, 300);
    System.out.println("{\"op\":\"" + op + "\",\"result\":\"" + result + "\",\"detail\":\"" + d + "\"}");
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    String user = args[1], password = args[2], inbox = "/" + args[3] + "/inbox", local = args[4];
    byte[] data = Files.readAllBytes(Paths.get(local));
    FTPSClient ftp = new FTPSClient("TLS", false);
    ftp.setTrustManager(TrustManagerUtils.getAcceptAllTrustManager());
    ftp.connect("127.0.0.1", port);
    boolean in = ftp.login(user, password);
    report("login", in, false, ftp.getReplyString());
    ftp.execPBSZ(0);
    ftp.execPROT("P");
    ftp.enterLocalPassiveMode();
    ftp.setFileType(FTP.BINARY_FILE_TYPE);
    boolean up = ftp.storeFile(inbox + "/commons.csv", new ByteArrayInputStream(data));
    report("upload", up, false, ftp.getReplyString());
    try (java.io.InputStream big = Files.newInputStream(Paths.get(args[5]))) {
      boolean upBig = ftp.storeFile(inbox + "/commons-big.csv", big);
      report("upload 50 MB", upBig, false, ftp.getReplyString());
    }
    FTPFile[] ml = ftp.mlistDir(inbox);
    boolean found = Arrays.stream(ml).anyMatch(f -> f.getName().equals("commons.csv") && f.getSize() == data.length);
    report("mlistDir", found, false, ml.length);
    FTPFile[] ls = ftp.listFiles(inbox);
    report("list", Arrays.stream(ls).anyMatch(f -> f.getName().equals("commons.csv")), false, ls.length);
    ByteArrayOutputStream back = new ByteArrayOutputStream();
    boolean got = ftp.retrieveFile(inbox + "/commons.csv", back);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    boolean same = got && Arrays.equals(sha.digest(back.toByteArray()), MessageDigest.getInstance("SHA-256").digest(data));
    report("download", same, false, back.size());
    ftp.storeFile(inbox + "/commons.csv.tmp", new ByteArrayInputStream(data));
    boolean renamed = ftp.rename(inbox + "/commons.csv.tmp", inbox + "/commons-renamed.csv");
    report("temp-name-then-rename", renamed, false, ftp.getReplyString());
    ftp.setRestartOffset(10);
    boolean resumed = ftp.storeFile(inbox + "/commons.csv", new ByteArrayInputStream(data));
    String reply = ftp.getReplyString();
    report("resume", !resumed && reply.contains("not supported"), true, reply);
    ftp.logout();
    ftp.disconnect();
  }
}
