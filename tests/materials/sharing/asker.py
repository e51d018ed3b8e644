"""One OS process of the cross-process tests: builds the app from the settings in argv[1], says
"ready", waits for a line on stdin (so that several processes ask at the same instant), then
GETs each path in argv[2:] ("POST <bearer token> <path>" POSTs it as that user) and prints one
JSON line per answer: status, headers, body."""

from __future__ import annotations

import base64
import json
import sys

from app import create_app


def main() -> None:
    app = create_app(json.loads(sys.argv[1]))
    client = app.test_client()
    print("ready", flush=True)
    sys.stdin.readline()
    for path in sys.argv[2:]:
        if path.startswith("POST "):
            _, token, path = path.split(" ", 2)
            resp = client.post(path, headers={"Authorization": f"Bearer {token}"})
        else:
            resp = client.get(path)
        answer = {
            "status": resp.status_code,
            "type": resp.mimetype,
            "body": base64.b64encode(resp.data).decode(),
        }
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
