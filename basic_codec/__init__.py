"""basic-codec: a neural image codec whose compute is a dial (BaSIC, ECCV 2024)."""
from .api import Codec, EncodeReport, load
from .errors import CodecError, FormatError, InputError, ModelMismatchError, WeightsError
from .version import __version__

__all__ = ["Codec", "EncodeReport", "load", "CodecError", "FormatError", "InputError",
           "ModelMismatchError", "WeightsError", "__version__"]
