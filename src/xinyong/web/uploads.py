"""Uploaded files: submissions streamed to the job folder (submissions.jobs), never held in
memory; evidence files read from a form.

The form itself is read on the event loop (``web.deps.FormDep``: Starlette spools its files
to disk); everything here is plain blocking code for the handlers, which run in worker
threads beside the database."""

from __future__ import annotations

import shutil
from pathlib import Path

from starlette.datastructures import FormData, UploadFile

from xinyong.config import get_settings
from xinyong.errors import InvalidInput
from xinyong.submissions.jobs import new_job_folder
from xinyong.workflows.evidence import Upload


def store_upload(upload: UploadFile) -> Path:
    """Write the upload under a folder of its own in the job folder, block by block; the
    file's path. Past ``max_upload_bytes`` the partial file is removed and the request
    refused."""
    settings = get_settings()
    limit = settings.max_upload_bytes
    folder = new_job_folder(settings)
    path = folder / (Path(upload.filename or "upload").name or "upload")
    size = 0
    try:
        with path.open("wb") as out:
            while block := upload.file.read(1 << 20):
                size += len(block)
                if size > limit:
                    raise InvalidInput(f"文件超过 {limit // (1 << 20)} MB 上限", code="too_large")
                out.write(block)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path


def drop_upload(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)


def evidence_from_form(form: FormData, field: str = "evidence") -> list[Upload]:
    """The evidence files (证明材料) a form posted in ``field``, each within the size limit."""
    limit = get_settings().evidence_max_bytes
    uploads = []
    for value in form.getlist(field):
        if not isinstance(value, UploadFile) or not value.filename:
            continue
        content = value.file.read(limit + 1)
        if len(content) > limit:
            raise InvalidInput(
                f"文件“{value.filename[:100]}”超过大小上限 {limit // (1024 * 1024) or 1} MB",
                code="evidence_too_large",
            )
        uploads.append(Upload(value.filename, content))
    return uploads
