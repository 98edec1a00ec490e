"""Moved: the layout is `deployer.layout`, the names are `deployer.names` (a lower layer, so
targets and stacks can use them). Kept for branches still importing this path; import those."""

from deployer.layout import Layout
from deployer.names import APP_NAME, RELEASE_ID, SHA256, check_app, check_release_id, new_release_id

__all__ = ["APP_NAME", "RELEASE_ID", "SHA256", "Layout", "check_app", "check_release_id",
           "new_release_id"]  # fmt: skip
