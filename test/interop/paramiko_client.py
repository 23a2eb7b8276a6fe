"""Drives Ferry's SFTP server with paramiko, as a customer's Python script would; prints one JSON line per
operation: {"op": ..., "result": "ok" | "refused-clearly" | "FAIL", "detail": ...}. Usage: paramiko_client.py PORT USER PASSWORD FOLDER FILE BIG_FILE"""
import hashlib
import json
import os
import sys

import paramiko

port, user, password, folder, local = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]


def report(op, ok, detail="", refused=False):
    result = ("refused-clearly" if refused else "ok") if ok else "FAIL"
    print(json.dumps({"op": op, "result": result, "detail": str(detail)[:300]}), flush=True)


transport = paramiko.Transport(("127.0.0.1", int(port)))
transport.connect(username=user, password=password)
sftp = paramiko.SFTPClient.from_transport(transport)
inbox = f"/{folder}/inbox"
data = open(local, "rb").read()

sftp.put(local, f"{inbox}/paramiko.csv")
report("upload", True, len(data))
sftp.put(sys.argv[6], f"{inbox}/paramiko-big.csv")
report("upload 50 MB", True, os.path.getsize(sys.argv[6]))
names = sftp.listdir(inbox)
report("list", "paramiko.csv" in names, names)
size = sftp.stat(f"{inbox}/paramiko.csv").st_size
report("stat", size == len(data), size)
with sftp.open(f"{inbox}/paramiko.csv", "rb") as f:
    back = f.read()
report("download", hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest(), len(back))
sftp.put(local, f"{inbox}/paramiko.csv.part")
sftp.posix_rename(f"{inbox}/paramiko.csv.part", f"{inbox}/renamed.csv")
report("temp-name-then-rename", "renamed.csv" in sftp.listdir(inbox), sftp.listdir(inbox))
sftp.put(local, f"{inbox}/paramiko.csv")
report("overwrite", True)
try:
    with sftp.open(f"{inbox}/paramiko.csv", "r+") as f:
        f.seek(10)
        f.write(b"resumed")
    report("resume", False, "accepted a write in place")
except IOError as e:
    report("resume", "not supported" in str(e), e, refused=True)
sftp.close()
transport.close()
