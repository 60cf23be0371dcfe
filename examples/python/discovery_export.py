#!/usr/bin/env python3
"""Discovery export against holdfast, with nothing but `requests`.

Creates a bulk export (optionally placing a legal hold on every matched
recording in the same step), honours Retry-After / X-Retry-After on 409, 429
and 503 answers (repeating the same request with the same Idempotency-Key, so
a retry never creates a second job), polls the job until it ends, downloads
every file of the bag and checks each payload file against the bag's
manifest-sha256.txt.

    HOLDFAST_SERVER=http://127.0.0.1:8640 HOLDFAST_TOKEN=hf_... \\
      python3 discovery_export.py --case LC-2024-001 --media SIP --since-hours 48 --legal-hold --out discovery

Exit status: 0 when the bag is complete and every checksum matches, 1 when the
export failed or a check did not pass, 2 for a usage error.
"""

import argparse
import datetime
import hashlib
import os
import sys
import time
import urllib.parse
import uuid

import requests

RETRYABLE = {409: {"recording_locked", "idempotency_in_progress"}, 429: None, 503: None}


class Holdfast:
    """A small holdfast API client that retries what holdfast says it may."""

    def __init__(self, server, token, max_wait=600):
        self.server = server.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + token
        # A budget of time, not of attempts: the server says how long to
        # wait, and a run of transient refusals (a rehearsal with --faults,
        # a busy hour) must not end a discovery export that would succeed.
        self.max_wait = max_wait
        self.retries = 0

    def request(self, method, path, **kwargs):
        """Send one request, retrying 409/429/503 answers after their Retry-After, for up to max_wait seconds."""
        deadline = time.monotonic() + self.max_wait
        while True:
            resp = self.session.request(method, self.server + path, timeout=60, **kwargs)
            codes = RETRYABLE.get(resp.status_code, False)
            code = problem_code(resp)
            if codes is False or (codes is not None and code not in codes):
                return resp
            delay = retry_after(resp)
            if time.monotonic() + delay > deadline:
                return resp
            self.retries += 1
            print(f"  {method} {path}: {resp.status_code} {code}; retrying in {delay:g}s", file=sys.stderr)
            time.sleep(delay)

    def json(self, method, path, want, **kwargs):
        """A request whose answer must have status want; returns its JSON."""
        resp = self.request(method, path, **kwargs)
        if resp.status_code != want:
            raise SystemExit(f"holdfast refused {method} {path}: {resp.status_code} {problem_code(resp)}: {problem_message(resp)}")
        return resp.json()


def problem_code(resp):
    try:
        return resp.json().get("code", "")
    except ValueError:
        return ""


def problem_message(resp):
    try:
        return resp.json().get("message", resp.text)
    except ValueError:
        return resp.text


def retry_after(resp):
    """The delay the server asked for (X-Retry-After or Retry-After, seconds), else 1 s."""
    for name in ("X-Retry-After", "Retry-After"):
        value = resp.headers.get(name)
        if value and value.isdigit():
            return max(1, int(value))
    return 1


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default=os.environ.get("HOLDFAST_SERVER", "http://127.0.0.1:8640"))
    p.add_argument("--token", default=os.environ.get("HOLDFAST_TOKEN"))
    p.add_argument("--case", required=True, help="the matter, e.g. LC-2024-001")
    p.add_argument("--media", default="SIP")
    p.add_argument("--since-hours", type=float, default=48)
    p.add_argument("--legal-hold", action="store_true", help="hold every matched recording for the case")
    p.add_argument("--reason", default="Discovery Request #12345")
    p.add_argument("--out", required=True, help="directory to download the bag into")
    p.add_argument("--poll", type=float, default=1.0)
    args = p.parse_args()
    if not args.token:
        p.error("no token: pass --token or set HOLDFAST_TOKEN")

    hf = Holdfast(args.server, args.token)
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(hours=args.since_hours)
    body = {
        "filter": {
            "media_type": args.media,
            "from": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "to": (now + datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "metadata": {"legal_hold": args.legal_hold, "case_id": args.case},
        "destination": {"type": "filesystem"},
    }
    if args.legal_hold:
        body["metadata"]["hold_reason"] = args.reason
    # One key for every attempt: a retried create answers with the same job.
    key = "py-export-" + uuid.uuid4().hex
    job = hf.json("POST", "/api/v2/bulk/recordingexports", 202, json=body, headers={"Idempotency-Key": key})
    matched = job["progress"]["matched"]
    print(f"export job {job['id']} created; {matched} recording(s) matched" + (f", held by {job['hold_id']}" if job.get("hold_id") else ""))
    if matched == 0:
        print("nothing matched: no hold was placed and there is nothing to download", file=sys.stderr)
        return 1

    while job["state"] not in ("completed", "completed_with_errors", "failed", "cancelled"):
        time.sleep(args.poll)
        job = hf.json("GET", "/api/v2/bulk/recordingexports/" + job["id"], 200)
        pr = job["progress"]
        print(f"  {job['state']}: {pr['exported']}/{pr['matched']} exported, {pr['failed']} failed")
    if job["state"] not in ("completed", "completed_with_errors") or not job.get("package"):
        print(f"export {job['id']} ended {job['state']}: {job.get('error', '')}", file=sys.stderr)
        return 1

    bag = os.path.join(args.out, job["package"]["name"])
    files, cursor = [], ""
    while True:
        page = hf.json("GET", f"/api/v2/bulk/recordingexports/{job['id']}/package/files" + (f"?cursor={urllib.parse.quote(cursor)}" if cursor else ""), 200)
        files += page["items"]
        cursor = page.get("next_cursor", "")
        if not cursor:
            break
    for f in files:
        rel = f["path"]
        if rel.startswith("/") or ".." in rel.split("/"):
            print(f"the server listed an unsafe path {rel!r}", file=sys.stderr)
            return 1
        dst = os.path.join(bag, *rel.split("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        resp = hf.request("GET", f"/api/v2/bulk/recordingexports/{job['id']}/package/files/" + urllib.parse.quote(rel), stream=True)
        if resp.status_code != 200:
            print(f"download of {rel} refused: {resp.status_code} {problem_code(resp)}", file=sys.stderr)
            return 1
        with open(dst, "wb") as out:
            for chunk in resp.iter_content(1 << 20):
                out.write(chunk)
        if sha256_file(dst) != f["sha256"]:
            print(f"{rel}: SHA-256 differs from the server's listing", file=sys.stderr)
            return 1

    # The bag's own manifest is the authority for every payload file.
    bad, checked = 0, 0
    with open(os.path.join(bag, "manifest-sha256.txt"), encoding="utf-8") as m:
        for line in m:
            digest, _, rel = line.rstrip("\n").partition(" ")
            rel = urllib.parse.unquote(rel.strip())
            checked += 1
            if sha256_file(os.path.join(bag, *rel.split("/"))) != digest:
                bad += 1
                print(f"{rel}: does not match manifest-sha256.txt", file=sys.stderr)
    tm = sha256_file(os.path.join(bag, "tagmanifest-sha256.txt"))
    print(f"bag {bag}: {len(files)} file(s), {checked} payload file(s) checked against manifest-sha256.txt, {bad} mismatch(es)")
    print(f"tagmanifest-sha256.txt SHA-256: {tm}")
    print(f"retries honoured: {hf.retries}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
