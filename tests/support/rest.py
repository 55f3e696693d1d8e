"""Plain-HTTP calls to the REST face, as the Scripts Manager's caller and
front end make them (Bearer token in the Authorization header)."""

from __future__ import annotations

from typing import Any

import httpx

PASSWORD = "correct horse battery staple"
SEED_SCRIPT = b"def main(data):\n    return {'message': 'Hello, ' + data.get('name', '?') + '!'}\n"
# Reads the file the caller handed over and writes a result file.
FILE_SCRIPT = (
    b"import os\n"
    b"def main(data):\n"
    b"    name = data['file_key'].replace('/', '_')\n"
    b"    text = open('/job/in/' + name).read()\n"
    b"    os.makedirs('/job/out', exist_ok=True)\n"
    b"    open('/job/out/result.txt', 'w').write(text.upper())\n"
    b"    return {'lines': len(text.splitlines())}\n"
)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def detail(response: httpx.Response) -> dict[str, Any]:
    """The `detail` of an error answer, checked to be the documented shape."""
    body = response.json()
    assert set(body) == {"detail"}, body
    error: dict[str, Any] = body["detail"]
    assert error["code"] == error["error_code"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    return error


async def upload_script(
    http: httpx.AsyncClient,
    base_url: str,
    token: str | None,
    filename: str,
    content: bytes,
    folder_id: str | None = None,
    replace: bool = False,
) -> httpx.Response:
    form = {"display_name": filename, "description": "uploaded", "replace": str(replace).lower()}
    if folder_id is not None:
        form["folder_id"] = folder_id
    return await http.post(
        f"{base_url}/api/v1/scripts-manager/scripts",
        headers=bearer(token),
        data=form,
        files={"file": (filename, content, "text/x-python")},
    )


async def upload_file(
    http: httpx.AsyncClient, base_url: str, token: str | None, name: str, data: bytes, prefix: str
) -> httpx.Response:
    return await http.post(
        f"{base_url}/api/v1/files/upload",
        params={"prefix": prefix},
        headers=bearer(token),
        files={"file": (name, data, "text/plain")},
    )
