"""The exceptions a person can act on.

Every error tunetag raises on purpose is a ``TunetagError``; the CLI catches only these, so a
real bug still shows its traceback.
"""


class TunetagError(Exception):
    """Base of every error tunetag raises on purpose."""


class ParameterError(TunetagError):
    """A setting or argument is out of range or inconsistent."""


class AudioDecodeError(TunetagError):
    """A file could not be read as audio (missing, empty, not audio, too short)."""


class LabelFileError(TunetagError):
    """The song CSV is malformed: missing column, unknown path, duplicate row, bad labels."""


class TagWriteError(TunetagError):
    """Tags could not be written into an audio file."""


class SettingError(ParameterError):
    """A setting of `tunetag.config` is out of range.

    ``setting`` names the field, so the command line can name the option a person typed
    (``--window``) where the Python API names the field (``window_s``).
    """

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting} {reason}")
        self.setting = setting
        self.reason = reason
