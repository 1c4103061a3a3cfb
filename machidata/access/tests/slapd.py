"""A real OpenLDAP server (Debian's slapd) for the sign-in tests, started in a temporary folder.

slapd runs in the foreground (``-d 0``) on a free port of 127.0.0.1 with a generated ``slapd.conf``
and an mdb database loaded with :data:`PEOPLE` by ``slapadd``. ``make test`` installs slapd (the
``ldap`` target); without it the fixture fails with that instruction rather than skipping.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SUFFIX = "dc=city,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "root-secret-for-tests"
PEOPLE_BASE = f"ou=people,{SUFFIX}"
GROUP_BASE = f"ou=groups,{SUFFIX}"
USERS_GROUP = f"cn=machidata-users,{GROUP_BASE}"
EDITORS_GROUP = f"cn=machidata-editors,{GROUP_BASE}"
ADMINS_GROUP = f"cn=machidata-admins,{GROUP_BASE}"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


@dataclass(frozen=True)
class Person:
    uid: str
    name: str
    unit: str  # departmentNumber: the 所属コード
    groups: tuple[str, ...]

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{PEOPLE_BASE}"

    @property
    def password(self) -> str:
        return f"pw-{self.uid}-in-the-directory"


# Codes of machidata.core.testing.make_org: 100100 データ戦略課, 200100 健康づくり推進課,
# 200101 母子保健係, 300100 警防課.
PEOPLE = (
    Person("tanaka", "田中 一郎", "200100", (USERS_GROUP, EDITORS_GROUP)),
    Person("suzuki", "鈴木 二郎", "300100", (USERS_GROUP,)),
    Person("sato", "佐藤 三郎", "300100", (USERS_GROUP,)),
    Person("yamada", "山田 花子", "200100", ()),  # not in machidata-users
    Person("kato", "加藤 四郎", "200101", (USERS_GROUP,)),
    Person("watanabe", "渡辺 五郎", "100100", (USERS_GROUP, ADMINS_GROUP)),
    Person("nomura", "野村 六郎", "999999", (USERS_GROUP,)),  # a 所属 unknown here
    Person("admin", "同名 管理者", "100100", (USERS_GROUP,)),  # same name as a local superuser
    Person("inoue", "井上 七郎", "300100", (USERS_GROUP,)),
)


def _ldif() -> str:
    parts = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: city\no: Example City\n",
        f"dn: {PEOPLE_BASE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {GROUP_BASE}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    for p in PEOPLE:
        family, given = p.name.split(" ")
        parts.append(
            f"dn: {p.dn}\nobjectClass: inetOrgPerson\nuid: {p.uid}\ncn:: {_b64(p.name)}\nsn:: {_b64(family)}\n"
            f"givenName:: {_b64(given)}\ndisplayName:: {_b64(p.name)}\nmail: {p.uid}@city.example\n"
            f"departmentNumber: {p.unit}\nuserPassword: {p.password}\n"
        )
    for group in (USERS_GROUP, EDITORS_GROUP, ADMINS_GROUP):
        cn = group.split(",")[0].split("=")[1]
        members = [p.dn for p in PEOPLE if group in p.groups] or [ROOT_DN]
        parts.append(
            f"dn: {group}\nobjectClass: groupOfNames\ncn: {cn}\n" + "".join(f"member: {m}\n" for m in members)
        )
    return "\n".join(parts)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def _write_tls(home: Path) -> None:
    """A CA and a certificate for 127.0.0.1 signed by it (ca.pem, server.pem, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "machidata test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (home / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (home / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (home / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _conf(home: Path) -> str:
    schema = Path("/etc/ldap/schema")
    includes = "".join(f"include {schema / name}.schema\n" for name in SCHEMAS)
    return (
        includes
        + f"pidfile {home / 'slapd.pid'}\n"
        + f"TLSCACertificateFile {home / 'ca.pem'}\n"
        + f"TLSCertificateFile {home / 'server.pem'}\n"
        + f"TLSCertificateKeyFile {home / 'server.key'}\n"
        + "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
        + "database mdb\nmaxsize 10485760\n"
        + f'suffix "{SUFFIX}"\nrootdn "{ROOT_DN}"\nrootpw {ROOT_PW}\n'
        + f"directory {home / 'data'}\n"
        + "index objectClass,uid,member eq\n"
        + "access to attrs=userPassword by self write by anonymous auth by * none\n"
        + "access to * by * read\n"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _slapd_binary(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if found is None:
        pytest.fail(
            f"{name} がありません。LDAP のテストには OpenLDAP（Debian の slapd と ldap-utils）が必要です: "
            "`make ldap`（root なら apt-get で入れます）または `sudo apt-get install -y slapd ldap-utils`",
            pytrace=False,
        )
    return found


@dataclass
class Slapd:
    """A running slapd: its address and how long it took to answer."""

    url: str
    port: int
    home: Path
    tls_url: str  # ldaps:// with a certificate for 127.0.0.1 from the CA in ca_file
    ca_file: Path
    process: subprocess.Popen[bytes]
    start_seconds: float

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_slapd(home: Path) -> Slapd:
    """Generate the configuration, load the people, start slapd and wait until it accepts connections."""
    slapd, slapadd = _slapd_binary("slapd"), _slapd_binary("slapadd")
    started = time.monotonic()
    (home / "data").mkdir(parents=True)
    _write_tls(home)
    conf = home / "slapd.conf"
    conf.write_text(_conf(home), encoding="utf-8")
    ldif = home / "people.ldif"
    ldif.write_text(_ldif(), encoding="utf-8")
    loaded = subprocess.run(
        [slapadd, "-f", str(conf), "-l", str(ldif)], capture_output=True, text=True, check=False
    )
    if loaded.returncode != 0:
        pytest.fail(f"slapadd failed: {loaded.stderr}", pytrace=False)
    port, tls_port = _free_port(), _free_port()
    url, tls_url = f"ldap://127.0.0.1:{port}", f"ldaps://127.0.0.1:{tls_port}"
    with (home / "slapd.log").open("wb") as log:  # slapd keeps its own copy of the descriptor
        process = subprocess.Popen(
            [slapd, "-f", str(conf), "-h", f"{url}/ {tls_url}/", "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"slapd stopped: {(home / 'slapd.log').read_text(errors='replace')}", pytrace=False)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("slapd did not accept connections within 15 seconds", pytrace=False)
    return Slapd(url, port, home, tls_url, home / "ca.pem", process, time.monotonic() - started)


def modify(server: Slapd, dn: str, changes: dict[str, list[tuple[str, list[str]]]]) -> None:
    """Change an entry as the directory's administrator (``changes`` in ldap3's form)."""
    import ldap3

    conn = ldap3.Connection(ldap3.Server(server.url), ROOT_DN, ROOT_PW, auto_bind=True)
    try:
        assert conn.modify(dn, changes), conn.result
    finally:
        conn.unbind()
