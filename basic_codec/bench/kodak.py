"""Recognise the Kodak set by content: the published anchors (VTM, ELIC, ...) are Kodak means, so
`bench` draws them only beside a run over exactly these 24 images, whatever the folder is called."""
from __future__ import annotations

import hashlib
from pathlib import Path

KODAK_SHA256 = frozenset({
    "a56e27cbf5f843c048b6af1d6e090760e9c92fadba88b7dee0205918a37523bd",  # kodim01.png
    "133d50ad0f2cda48fef30e251f433fa1a98ee08c0f2d07cdab9462e876ccae5d",  # kodim02.png
    "e25ca1ff2f0c0cb5fdfd5f9b0a0bb21ac4c3de3c84a67f35b09a85d3306249db",  # kodim03.png
    "1e079e4adc03524e53f1394a2a8e1c5995f0f70a5aec125b12fa3fdbe33cba37",  # kodim04.png
    "10349e963c5c813d327852f82c1795fa4148d69fedffc4c589bee458e3ac3d53",  # kodim05.png
    "363510303b715d4cbc384e1ce227e466b613a09e1b71ae985882bf8e7fbd9b18",  # kodim06.png
    "a74d606cef80e70a04fb983364f79fb954ad46665edf2a8b7355ce81adfa7998",  # kodim07.png
    "e3cfc1371a5643c7f8cdf1bd565c172abce6aa26e3f2fdce74cbf7c32364089d",  # kodim08.png
    "a0c72eb70826619305388ed9c0f8aa8f491b234155d62673cda270d7021149a2",  # kodim09.png
    "28fb615837dc8e66fc92c40158cac80b57f07d0ce77d22576aa85ac9e2787336",  # kodim10.png
    "7936814b58b5387fce2e4e2488b4ec830dadd95fa9520f358ddb30990b50f2b6",  # kodim11.png
    "d78c37c2f04f23761ed2367dd77e2db584ddd4c3950833fecf89f199a8126980",  # kodim12.png
    "bc34a3ce58dea09dce1704c997171602de90cb34d0c8503a988b77f473d39b08",  # kodim13.png
    "55a94550ff18f3246c4074fd32b77b0c74447c26b6ad274d564d999c0450ba6e",  # kodim14.png
    "d36d884e29bce92adea11de456be4e9a5815e79c112d47453a34a6f6edc84e63",  # kodim15.png
    "a89c7268ccd4718ba424a99fc4643c572cf692ca6eae887185ceb4e9f11d2e54",  # kodim16.png
    "37afcc89fbdcb76d9518e04b2fc011027e2f4cd14b3b2f83cefd721641a47c5b",  # kodim17.png
    "5deb2d91e347cbdcc0d8a595daa8877de0772c9cdbce4956a2f45a0f97648a47",  # kodim18.png
    "8f12d577f9ca36f384f82dec11ed8a4e12a27bd5a32ef117b9bcaf4fe4d0606f",  # kodim19.png
    "3b46c71e3b92a563820ba32936be8330c586c41f938efd94be938386aae4328a",  # kodim20.png
    "ac958597c82073f6bb65129c68f72b651db5b9efd82e11547d07350214bc268b",  # kodim21.png
    "37782d92a1cfb36ff586047d5c0a2fa75e042fd0b58f90f866b4ab91349c4e03",  # kodim22.png
    "2ed596d7de74cc43d23add4c116763f49d7b5a78b21444fe84caece531ee933b",  # kodim23.png
    "ac96f39dacff2ec303ddb8a7eb72d59f77af2b491144926335938338ee63473d",  # kodim24.png
})


def is_kodak(files: list[Path]) -> bool:
    """True when the files are the 24 Kodak images (by SHA-256 of their bytes), no more, no less."""
    return len(files) == len(KODAK_SHA256) and {hashlib.sha256(Path(f).read_bytes()).hexdigest()
                                                for f in files} == KODAK_SHA256
