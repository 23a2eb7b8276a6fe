#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests drive (real clients), when missing. Idempotent.
set -euo pipefail
need=()
command -v sftp >/dev/null 2>&1 || need+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v lftp >/dev/null 2>&1 || need+=(lftp)
command -v swaks >/dev/null 2>&1 || need+=(swaks)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/sbin/vsftpd ] || need+=(vsftpd)
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
# A real DNS server on a loopback port for the SPF/DKIM/DMARC checks of allowed email senders.
[ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
# A real TCP load balancer in front of several Ferry nodes (test/e2e/cluster.test.ts, bench/cluster.ts).
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
# systemd's own check of the unit file in deploy/ (test/e2e/package.test.ts).
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# GnuPG: the partner's side of OpenPGP (test/pipeline/pgp.test.ts, test/e2e/pgp.test.ts, bench/pgp.ts).
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
# Third-party clients of the interop suite (test/interop/).
command -v rclone >/dev/null 2>&1 || need+=(rclone)
command -v ncftpput >/dev/null 2>&1 || need+=(ncftp)
/usr/bin/python3 -c "import paramiko" >/dev/null 2>&1 || need+=(python3-paramiko)
# Java programs run from source (java File.java needs the JDK's compiler), with Debian's JSch and Commons Net.
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
[ -f /usr/share/java/jsch.jar ] || need+=(libjsch-java)
[ -f /usr/share/java/commons-net.jar ] || need+=(libcommons-net-java)
# A real S3 server for the object store's tests (scripts/s3-ceph-rgw.sh): Ceph's mon, OSD and RADOS Gateway,
# without the recommended extras (about 30 s).
ceph=()
for pkg in ceph-mon ceph-osd radosgw; do [ -x "/usr/bin/$pkg" ] || ceph+=("$pkg"); done
if [ ${#need[@]} -gt 0 ] || [ ${#ceph[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The tests need: ${need[*]} ${ceph[*]} (Debian packages). Install them, e.g. sudo apt-get install -y ${need[*]} ${ceph[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  [ ${#need[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  [ ${#ceph[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${ceph[@]}"
fi
