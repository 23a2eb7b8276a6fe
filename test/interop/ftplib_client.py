"""Drives Ferry's FTP server with Python's ftplib (FTP_TLS, explicit), as a customer's script would; prints one
JSON line per operation: {"op": ..., "result": "ok" | "refused-clearly" | "FAIL", "detail": ...}.
Usage: ftplib_client.py PORT USER PASSWORD FOLDER FILE BIG_FILE"""
import ftplib
import hashlib
import io
import json
import ssl
import sys

port, user, password, folder, local = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]


def report(op, ok, detail="", refused=False):
    result = ("refused-clearly" if refused else "ok") if ok else "FAIL"
    print(json.dumps({"op": op, "result": result, "detail": str(detail)[:300]}), flush=True)


data = open(local, "rb").read()
inbox = f"/{folder}/inbox"
ftp = ftplib.FTP_TLS(context=ssl._create_unverified_context())
ftp.connect("127.0.0.1", int(port))
ftp.login(user, password)
ftp.prot_p()
reply = ftp.storbinary(f"STOR {inbox}/ftplib.csv", io.BytesIO(data))
report("upload", reply.startswith("226"), reply)
with open(sys.argv[6], "rb") as big:
    reply = ftp.storbinary(f"STOR {inbox}/ftplib-big.csv", big)
report("upload 50 MB", reply.startswith("226"), reply)
facts = dict(ftp.mlsd(inbox))
report("mlsd", facts.get("ftplib.csv", {}).get("size") == str(len(data)), facts.get("ftplib.csv"))
report("size", ftp.size(f"{inbox}/ftplib.csv") == len(data))
back = io.BytesIO()
ftp.retrbinary(f"RETR {inbox}/ftplib.csv", back.write)
report("download", hashlib.sha256(back.getvalue()).digest() == hashlib.sha256(data).digest(), len(back.getvalue()))
ftp.storbinary(f"STOR {inbox}/ftplib.csv.tmp", io.BytesIO(data))
ftp.rename(f"{inbox}/ftplib.csv.tmp", f"{inbox}/ftplib-renamed.csv")
report("temp-name-then-rename", "ftplib-renamed.csv" in ftp.nlst(inbox))
reply = ftp.storbinary(f"STOR {inbox}/ftplib.csv", io.BytesIO(data))
report("overwrite", reply.startswith("226"), reply)
try:
    ftp.storbinary(f"STOR {inbox}/ftplib.csv", io.BytesIO(data), rest=10)
    report("resume", False, "accepted")
except ftplib.error_perm as e:
    report("resume", "not supported" in str(e), e, refused=True)
ftp.quit()
