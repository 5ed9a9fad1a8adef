"""basic-codec: a neural image codec whose compute is a dial (BaSIC, ECCV 2024).

`import basic_codec` stays light (no torch): the model-facing names are loaded when first used,
so `basic_codec.format` or the CLI's argument parsing never pay for torch.
"""
from .errors import CodecError, CodecWarning, FormatError, InputError, ModelMismatchError, WeightsError
from .version import __version__

__all__ = ["Codec", "EncodeReport", "load", "CodecError", "CodecWarning", "FormatError", "InputError",
           "ModelMismatchError", "WeightsError", "__version__"]


def __getattr__(name: str):
    if name in ("Codec", "EncodeReport", "load"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'basic_codec' has no attribute {name!r}")
