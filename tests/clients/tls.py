"""The emulator over https, for clients that speak nothing else (simple-salesforce).

The test wraps the sandbox server's listening socket in TLS with a
self-signed certificate for 127.0.0.1 made here; clients trust it through
REQUESTS_CA_BUNDLE. (`crmctl sandbox serve --tls` is the user-facing way to
the same, from the REST work of issue 13.)
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crmctl.sandbox import RunningServer, SandboxStore
from crmctl.sandbox.salesforce import state
from crmctl.sandbox.server import make_server
from tests.salesforce_org import ADMIN, CLIENT_ID, CLIENT_SECRET, SalesforceOrg, key_pair


def self_signed(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) files for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "tls.crt", folder / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key_file, 0o600)
    return cert_file, key_file


def tls_salesforce_org(tmp_path: Path) -> Iterator[tuple[SalesforceOrg, Path]]:
    """A fresh emulator (as tests.salesforce_org) answering https; and its certificate file."""
    store = SandboxStore.open(tmp_path / "salesforce.db")
    store.initialise(ADMIN)
    private, public = key_pair()
    jwt_key = tmp_path / "jwt-key.pem"
    jwt_key.write_text(private)
    os.chmod(jwt_key, 0o600)
    state.add_connected_app(
        store, "crmctl", CLIENT_ID, certificate=public, client_secret=CLIENT_SECRET, run_as=ADMIN
    )
    state.configure(store, asyncPolls=1)
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server, owns = make_server(store)
    # The handshake happens in each connection's own thread, on its first read.
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    running = RunningServer(
        f"https://{host}:{port}", port, store, server.faults, server, thread, owns
    )
    try:
        yield SalesforceOrg(running, store, jwt_key), cert_file
    finally:
        running.stop()
        store.close()
