"""Typed errors: the API raises these, the CLI prints their message on one line and exits 2."""


class CodecError(Exception):
    """Base class of every error basic-codec reports to a user."""


class FormatError(CodecError):
    """A .bsic file is malformed, truncated, corrupt or of an unknown version."""


class ModelMismatchError(FormatError):
    """A .bsic file was written by different weights than the ones loaded."""


class InputError(CodecError):
    """An input image or argument cannot be used."""


class WeightsError(CodecError):
    """A weights file is missing, unreadable or not a basic-codec model."""


class CodecWarning(UserWarning):
    """Something the input carried could not be kept (bit depth, animation frames): coding goes on."""
