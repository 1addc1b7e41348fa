"""A small mock of the Hugging Face Hub on 127.0.0.1, for the tests of `zoo publish` and `zoo pull`.

It answers the routes huggingface_hub's HfApi uses to create a repo and a branch, upload a folder (preupload:
every file is a regular git blob, sent inline in the commit) and download it (repo info, tree listing,
resolve/{revision}/{file}), and counts the requests. Commits are kept in memory. `corrupt` flips a byte of a
stored file without changing its commit or its ETag (a bad mirror, a broken disk); `drop` commits the removal
of a file.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse


def blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class Repo:
    def __init__(self, private: bool):
        self.private = private
        self.commits: dict[str, dict[str, bytes]] = {}
        self.etags: dict[str, str] = {}  # path@commit -> the git blob id of what was committed
        self.branches: dict[str, str] = {}

    def commit(self, branch: str, files: dict[str, bytes], deleted: set[str] = frozenset()) -> str:
        tree = dict(self.commits.get(self.branches.get(branch, ""), {}))
        tree.update(files)
        for path in deleted:
            tree.pop(path, None)
        sha = hashlib.sha1(f"{branch}{time.time_ns()}{sorted(tree)}".encode()).hexdigest()
        self.commits[sha] = tree
        self.etags.update({f"{path}@{sha}": blob_id(content) for path, content in tree.items()})
        self.branches[branch] = sha
        return sha

    def resolve(self, revision: str) -> str | None:
        if revision in self.commits:
            return revision
        return self.branches.get(revision)


class MockHub:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.tokens: set[str | None] = set()  # the Authorization headers seen
        self.cards: list[str] = []  # the front matter of each README.md validated
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"hub": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MockHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def count(self) -> int:
        return len(self.requests)

    def corrupt(self, repo: str, path: str, revision: str = "main") -> None:
        r = self.repos[repo]
        tree = r.commits[r.resolve(revision)]
        content = bytearray(tree[path])
        content[len(content) // 2] ^= 0x01
        tree[path] = bytes(content)

    def drop(self, repo: str, path: str, branch: str = "main") -> str:
        return self.repos[repo].commit(branch, {}, {path})

    def put(self, repo: str, files: dict[str, bytes], branch: str = "main") -> str:
        """A repo made outside zoo (e.g. not a zoo model)."""
        self.repos.setdefault(repo, Repo(private=False))
        return self.repos[repo].commit(branch, files)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: MockHub

    def log_message(self, *args) -> None:  # quiet
        pass

    # -- plumbing ------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes | dict | list = b"", headers: dict[str, str] | None = None,
              head: bool = False) -> None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, code: str = "") -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, {"error": message}, headers)

    def _body(self) -> bytes:
        return self.body

    def _route(self, method: str) -> None:
        with self.hub.lock:
            self.hub.requests.append((method, self.path))
            self.hub.tokens.add(self.headers.get("Authorization"))
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""  # read whatever the route, for keep-alive
        url = urlparse(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        query = parse_qs(url.query)
        try:
            if method == "POST" and parts == ["api", "validate-yaml"]:
                return self._validate(json.loads(self._body()))
            if method == "POST" and parts == ["api", "repos", "create"]:
                return self._create(json.loads(self._body() or b"{}"))
            if parts[:2] == ["api", "models"] and len(parts) >= 4:
                repo_id = "/".join(parts[2:4])
                repo = self.hub.repos.get(repo_id)
                if repo is None:
                    return self._error(404, "Repository not found", "RepoNotFound")
                rest = parts[4:]
                if method == "GET" and not rest:
                    return self._info(repo_id, repo, "main")
                if method == "GET" and rest[0] == "revision":
                    return self._info(repo_id, repo, "/".join(rest[1:]))
                if method == "GET" and rest[0] == "tree":
                    return self._tree(repo, rest[1], query)
                if method == "POST" and rest[0] == "preupload":
                    return self._preupload(json.loads(self._body()))
                if method == "POST" and rest[0] == "commit":
                    return self._commit(repo_id, repo, "/".join(rest[1:]))
                if method == "POST" and rest[0] == "branch":
                    return self._branch(repo, "/".join(rest[1:]))
            if method in ("GET", "HEAD") and len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve(parts, head=method == "HEAD")
            self._error(404, f"mock hub: no route {method} {url.path}")
        except Exception as exc:  # noqa: BLE001 - a bug in the mock shows as a 500 naming it
            self._error(500, f"mock hub: {type(exc).__name__}: {exc}")

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    # -- routes ----------------------------------------------------------------------------------------
    def _create(self, payload: dict) -> None:
        repo_id = f"{payload.get('organization')}/{payload['name']}"
        if repo_id in self.hub.repos:
            return self._error(409, "You already created this model repo")
        repo = Repo(private=payload.get("visibility") == "private" or bool(payload.get("private")))
        repo.commit("main", {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"})  # as the Hub
        self.hub.repos[repo_id] = repo
        self._send(200, {"url": f"{self.hub.url}/{repo_id}", "name": repo_id})

    def _validate(self, payload: dict) -> None:
        """The card's YAML front matter, read as the Hub reads it: a mapping with a model-index that parses."""
        import yaml
        from huggingface_hub.repocard_data import model_index_to_eval_results

        errors = []
        try:
            content = payload["content"]
            meta = yaml.safe_load(content.split("---\n")[1]) if content.startswith("---\n") else {}
            if not isinstance(meta, dict):
                errors.append("metadata must be a mapping")
            elif "model-index" in meta:
                model_index_to_eval_results(meta["model-index"])
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{type(exc).__name__}: {exc}")
        self.hub.cards.append(payload["content"])
        self._send(400 if errors else 200, {"errors": [{"message": e} for e in errors], "warnings": []})

    def _branch(self, repo: Repo, branch: str) -> None:
        if branch in repo.branches:
            return self._error(409, "Reference already exists")
        start = repo.branches.get("main")
        repo.branches[branch] = start if start else repo.commit(branch, {})
        self._send(200, {})

    def _info(self, repo_id: str, repo: Repo, revision: str) -> None:
        sha = repo.resolve(revision)
        if sha is None:
            return self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        tree = repo.commits[sha]
        self._send(200, {"id": repo_id, "modelId": repo_id, "sha": sha, "private": repo.private,
                         "siblings": [{"rfilename": path} for path in sorted(tree)], "tags": [], "downloads": 0})

    def _tree(self, repo: Repo, revision: str, query: dict) -> None:
        sha = repo.resolve(revision)
        if sha is None:
            return self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        tree = repo.commits[sha]
        self._send(200, [{"type": "file", "oid": repo.etags[f"{path}@{sha}"], "size": len(content), "path": path}
                         for path, content in sorted(tree.items())])

    def _preupload(self, payload: dict) -> None:
        self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                   for f in payload["files"]]})

    def _commit(self, repo_id: str, repo: Repo, revision: str) -> None:
        files, deleted = {}, set()
        for line in self._body().decode().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if item["key"] == "file":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] in ("deletedFile", "deletedFolder"):
                deleted.add(item["value"]["path"])
            elif item["key"] == "lfsFile":
                return self._error(400, "mock hub: LFS uploads are not mocked")
        sha = repo.commit(revision or "main", files, deleted)
        self._send(200, {"commitUrl": f"{self.hub.url}/{repo_id}/commit/{sha}", "commitOid": sha,
                         "pullRequestUrl": None})

    def _resolve(self, parts: list[str], head: bool) -> None:
        repo_id, revision, path = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            return self._error(404, "Repository not found", "RepoNotFound")
        sha = repo.resolve(revision)
        if sha is None:
            return self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        tree = repo.commits[sha]
        if path not in tree:
            return self._error(404, "Entry not found", "EntryNotFound")
        content = tree[path]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{repo.etags[f"{path}@{sha}"]}"', "Content-Type": "application/octet-stream"}
        self._send(200, content, headers, head=head)
