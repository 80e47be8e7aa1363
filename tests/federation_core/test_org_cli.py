"""`watercooler org ...` as IT runs it: make the org key, sign a manifest, apply it on a
running instance, and watch the server pass it on to its peer in another process."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from tests.federation_core.test_peer_cli import status_rows, wait_for
from tests.live import LiveInstance, start_all


def org_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`watercooler org ...` with no config at all (keygen and sign need none)."""
    return subprocess.run(
        [sys.executable, "-m", "watercooler", "org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def status_of(live: LiveInstance) -> dict[str, list[str]]:
    """`org status` rows by their first column."""
    lines = live.cli("org", "status").stdout.splitlines()
    return {line.split("\t")[0]: line.split("\t")[1:] for line in lines if line}


def write_manifest_toml(path: Path, serial: int, divisions: dict[str, str]) -> None:
    tables = "".join(
        f'[[divisions]]\ndomain = "{d}"\nname = "{n}"\n\n' for d, n in divisions.items()
    )
    path.write_text(f'serial = {serial}\norganisation = "Example Corp"\n\n{tables}')


def test_keygen_sign_apply_status_and_the_server_passes_it_on(tmp_path: Path) -> None:
    it = tmp_path / "it"
    it.mkdir()
    # IT makes the org key, once: private half 0600 and never overwritten, public half printed
    made = org_cli("keygen", "--out", "org-key.pem", cwd=it)
    assert made.returncode == 0, made.stderr
    public_key = made.stdout.strip()
    assert public_key.startswith("ed25519:") and "keep it off the servers" in made.stderr
    assert stat.S_IMODE((it / "org-key.pem").stat().st_mode) == 0o600
    again = org_cli("keygen", "--out", "org-key.pem", cwd=it)
    assert again.returncode == 2 and "not overwriting" in again.stderr

    write_manifest_toml(it / "manifest.toml", 1, {"sales.test": "Sales", "eng.test": "Eng"})
    signed = org_cli("sign", "manifest.toml", "--key", "org-key.pem", "--out", "m1.json", cwd=it)
    assert signed.returncode == 0, signed.stderr
    assert "signed serial 1: 2 divisions" in signed.stderr
    first = json.loads((it / "m1.json").read_text())
    assert first["serial"] == 1 and first["signature"]["key"] == public_key

    # Two divisions configured with the org key; eng starts with serial 1, sales with nothing
    sales = LiveInstance("sales.test", tmp_path / "sales")
    eng = LiveInstance("eng.test", tmp_path / "eng")
    resolve = {sales.domain: sales.address, eng.domain: eng.address}
    sales.write_config(peers=[], resolve=resolve, extra=f'[org]\npublic_key = "{public_key}"')
    eng.write_config(
        peers=[],
        resolve=resolve,
        extra=f'[org]\npublic_key = "{public_key}"\nmanifest = "{it / "m1.json"}"',
    )
    start_all([sales, eng])
    try:
        assert status_of(sales)["serial"] == ["-", "(no manifest adopted)"]
        applied = sales.cli("org", "apply", str(it / "m1.json"))
        assert "serial 1 adopted" in applied.stdout and "peers added: eng.test" in applied.stdout
        wait_for(
            lambda: status_rows(sales).get("eng.test", ["", ""])[1] == "accepted/accepted",
            "the instance actors to link",
        )

        # Serial 2 renames a division; applied at sales only, the server passes it on to eng
        write_manifest_toml(it / "manifest.toml", 2, {"sales.test": "Sales", "eng.test": "R&D"})
        org_cli("sign", "manifest.toml", "--key", "org-key.pem", "--out", "m2.json", cwd=it)
        assert "serial 2 adopted" in sales.cli("org", "apply", str(it / "m2.json")).stdout
        wait_for(lambda: status_of(eng)["serial"] == ["2"], "eng to adopt serial 2")
        shown = status_of(eng)
        assert shown["adopted"][1] == "from http://sales.test/actor"
        assert shown["organisation"] == ["Example Corp"]
        assert shown["eng.test"] == ["R&D", "(this instance)"]
        wait_for(lambda: status_of(sales)["passed on"] != ["pending"], "sales to pass it on")

        # Refused: the older serial, and a tampered file; both reported by `org status`
        stale = sales.cli_result("org", "apply", str(it / "m1.json"))
        assert stale.returncode == 2 and "refused (stale)" in stale.stderr
        tampered = it / "tampered.json"
        tampered.write_text((it / "m2.json").read_text().replace('"serial": 2', '"serial": 3'))
        forged = sales.cli_result("org", "apply", str(tampered))
        assert forged.returncode == 2 and "refused (bad_signature)" in forged.stderr
        lines = sales.cli("org", "status").stdout.splitlines()
        refusals = lines[lines.index("refused\tfrom\tserial\treason\tdetail") + 1 :]
        assert [row.split("\t")[1:4] for row in refusals] == [
            ["cli", "3", "bad_signature"],
            ["cli", "1", "stale"],
        ]
        assert status_of(sales)["serial"] == ["2"]
    finally:
        sales.stop()
        eng.stop()
