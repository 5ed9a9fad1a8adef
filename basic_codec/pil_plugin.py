"""Pillow plugin: `import basic_codec.pil_plugin` and then `Image.open("x.bsic")` decodes and
`img.save("x.bsic", quality=0.5, level=3)` encodes, with the shipped weights (or
`basic_codec.pil_plugin.set_codec(codec)` for others). `save` takes every option of
`Codec.compress` (quality, level, budget, enc_budget, effort) and Pillow's own icc_profile / exif /
xmp (which override what the image carries); `open` fills `img.info` with the file's ICC
profile, EXIF and XMP, and RGBA/LA files open as RGBA/LA."""
from __future__ import annotations

from PIL import Image, ImageFile

from . import format as fmt

_codec = None


def set_codec(codec) -> None:
    global _codec
    _codec = codec


def _get_codec():
    global _codec
    if _codec is None:
        from .api import load

        _codec = load()
    return _codec


def _accept(prefix: bytes) -> bool:
    return prefix[:4] == fmt.MAGIC


class BsicImageFile(ImageFile.ImageFile):
    format = "BSIC"
    format_description = "basic-codec learned image"

    def _open(self) -> None:
        head = self.fp.read(fmt.HEADER_FIXED_BYTES)
        if not _accept(head):
            raise SyntaxError("not a .bsic file")
        if len(head) < fmt.HEADER_FIXED_BYTES:
            raise SyntaxError("truncated .bsic file")
        height = int.from_bytes(head[13:17], "big")
        width = int.from_bytes(head[17:21], "big")
        self._mode = fmt.MODES.get(head[21], "RGB")
        self._size = (width, height)
        self.fp.seek(0)
        data = self.fp.read()  # the file is read once: the decoder gets these bytes
        try:
            chunks = fmt.unpack(data).chunks
        except fmt.FormatError as e:
            raise SyntaxError(str(e)) from None
        for tag, key in ((fmt.ICC, "icc_profile"), (fmt.EXIF, "exif"), (fmt.XMP, "xmp")):
            if tag in chunks:
                self.info[key] = chunks[tag]
        self.tile = [ImageFile._Tile("bsic", (0, 0, width, height), 0, (data,))]


class BsicDecoder(ImageFile.PyDecoder):
    _pulls_fd = True  # nothing more to read: the bytes came with the tile

    def decode(self, buffer):
        img = _get_codec().decompress(self.args[0])
        self.set_as_raw(img.tobytes(), img.mode)
        return -1, 0


def _save(im: Image.Image, fp, filename) -> None:
    from .imageio import picture_from_pil

    info = im.encoderinfo
    pic = picture_from_pil(im)
    for key, attr in (("icc_profile", "icc"), ("exif", "exif"), ("xmp", "xmp")):
        value = info.get(key)
        if value is not None:
            setattr(pic, attr, value.tobytes() if isinstance(value, Image.Exif) else bytes(value) or None)
    data = _get_codec().compress(pic, quality=info.get("quality", 0.5), level=info.get("level"),
                                 budget=info.get("budget"), enc_budget=info.get("enc_budget"),
                                 effort=info.get("effort", 0))
    fp.write(data)


Image.register_open(BsicImageFile.format, BsicImageFile, _accept)
Image.register_decoder("bsic", BsicDecoder)
Image.register_save(BsicImageFile.format, _save)
Image.register_extension(BsicImageFile.format, ".bsic")
