"""Fetching dataset files: mirrors tried in order, MD5 checked, written atomically.

A download streams into a hidden temporary file beside the target and is
renamed over it (``os.replace``) only once its checksum matches, so an
interrupted or corrupt transfer never leaves a partial file under the real name.
"""
import hashlib
import http.client
import os
import tempfile
import urllib.request


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not in the folder given, and ``download`` was not asked for.

    ``message(fetch)`` words the remedy for the caller: ``'pass download=True'`` in
    Python, ``'add --download'`` on the command line.
    """

    def __init__(self, dataset, folder, missing, hint=""):
        self.dataset, self.folder, self.missing, self.hint = dataset, folder, list(missing), hint
        super().__init__(self.message("pass download=True"))

    def message(self, fetch):
        return (f"{self.dataset}: missing {', '.join(self.missing)} in {os.path.abspath(self.folder)}. "
                f"Put the files there{self.hint}, or {fetch} to fetch them.")


class DownloadError(OSError):
    """No mirror delivered a file with the expected checksum."""


def md5sum(path, chunk=1 << 20):
    """Hex MD5 digest of the file at ``path``."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url, folder, md5, timeout):
    """Download ``url`` into a temporary file in ``folder``; its path once the MD5 matches."""
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".part")
    try:
        digest, received = hashlib.md5(usedforsecurity=False), 0
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            promised = response.headers.get("Content-Length")
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
                received += len(block)
        # http.client returns a short body without complaint when the connection drops early
        if promised is not None and received != int(promised):
            raise ValueError(f"incomplete download: received {received} of {promised} bytes")
        if md5 is not None and digest.hexdigest() != md5:
            raise ValueError(f"MD5 mismatch: expected {md5}, got {digest.hexdigest()}")
        return temp
    except BaseException:
        os.unlink(temp)
        raise


def download_url(urls, path, md5=None, timeout=60):
    """Fetch the first of ``urls`` that answers with the right checksum, and write it to ``path`` atomically.

    Args:
        urls: URLs of the same file, tried in order (mirrors).
        path: where the file goes; its folder is created if needed.
        md5: expected hex MD5 digest, or None to skip the check.
        timeout: seconds to wait for each server.

    Returns ``path``. Raises :class:`DownloadError` listing every URL tried and
    why it failed (HTTP error, unreachable, checksum mismatch).

    >>> download_url(["https://example.org/a.gz", "http://mirror.example.org/a.gz"], "data/a.gz", md5="...")
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    failures = []
    for url in urls:
        try:
            temp = _fetch(url, folder, md5, timeout)
        except (OSError, ValueError, http.client.HTTPException) as error:  # URLError, HTTPError: OSErrors
            failures.append(f"  {url}: {error}")
            continue
        os.replace(temp, path)
        return path
    tried = "\n".join(failures) or "  (no URLs given)"
    raise DownloadError(f"could not download {os.path.basename(path)}; tried:\n{tried}")


def missing_files(folder, names):
    """The entries of ``names`` with no file in ``folder``."""
    return [name for name in names if not os.path.isfile(os.path.join(folder, name))]


def not_found(dataset, folder, missing, hint=""):
    """The :class:`DatasetNotFoundError` for ``dataset`` missing ``missing`` in ``folder``."""
    return DatasetNotFoundError(dataset, folder, missing, hint)
