"""The local listening-and-labelling web page: `label` serves it for a song CSV."""

from tunetag.labelapp.server import LabelServer, label
from tunetag.labelapp.session import LabelSession, open_session

__all__ = ["LabelServer", "LabelSession", "label", "open_session"]
