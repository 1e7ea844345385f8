"""Every kind of bad image file gives an ImageError that names the file and the reason."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from f2a_studio.core.errors import ImageError
from f2a_studio.core.imageio import content_hash, flatten_alpha, load_image, read_image, save_png_atomic


def save(path: Path, image: Image.Image, **kw) -> Path:
    image.save(path, **kw)
    return path


def gradient(w: int = 64, h: int = 48) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.uint8)
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:, :, 0] = x
    arr[:, :, 1] = 255 - x
    arr[:, :, 2] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    return arr


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file") as info:
        load_image(path)
    assert info.value.path == str(path)


def test_text_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are my notes, not a picture\n")
    with pytest.raises(ImageError, match="holds text"):
        load_image(path)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "junk.jpg"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ImageError, match="not a recognised image"):
        load_image(path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated(tmp_path: Path, fmt: str) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(buf, fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(path)


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = save(tmp_path / "cmyk.jpg", Image.fromarray(gradient()).convert("CMYK"), quality=95)
    loaded = load_image(path)
    assert loaded.pixels.shape == (48, 64, 3)
    assert np.abs(loaded.pixels.astype(int) - gradient().astype(int)).mean() < 12


def test_16bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (32, 1))
    path = save(tmp_path / "deep.png", Image.fromarray(ramp))
    loaded = load_image(path)
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape == (32, 64, 3)
    assert loaded.pixels[0, 0, 0] == 0 and loaded.pixels[0, -1, 0] == 255
    assert 100 < loaded.pixels[0, 32, 0] < 155


def test_palette_png_with_transparency_keeps_alpha(tmp_path: Path) -> None:
    image = Image.new("P", (40, 30), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (10, 10, 30, 20))
    path = save(tmp_path / "pal.png", image, transparency=0)
    loaded = load_image(path)
    assert loaded.has_alpha
    assert loaded.pixels[0, 0, 3] == 0 and loaded.pixels[15, 15, 3] == 255
    assert tuple(loaded.pixels[15, 15, :3]) == (0, 0, 255)


def test_exif_rotated_jpeg_is_stored_upright(tmp_path: Path) -> None:
    arr = np.zeros((40, 80, 3), np.uint8)
    arr[:, :40] = (255, 0, 0)  # red left half as stored
    image = Image.fromarray(arr)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° CW to display"
    path = save(tmp_path / "rot.jpg", image, exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.pixels.shape == (80, 40, 3)  # upright: taller than wide
    assert loaded.pixels[5, 20, 0] > 200  # red half is now on top


def test_tiny_image_is_refused_with_its_size(tmp_path: Path) -> None:
    path = save(tmp_path / "dot.png", Image.new("RGB", (1, 1)))
    with pytest.raises(ImageError, match="1×1"):
        load_image(path)


def test_long_strip_loads(tmp_path: Path) -> None:
    arr = np.full((60000, 690, 3), 255, np.uint8)
    arr[::500] = 0
    path = tmp_path / "strip.png"
    save_png_atomic(path, arr)
    loaded = load_image(path)
    assert (loaded.height, loaded.width) == (60000, 690)


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("L", (20000, 20000)).save(path, optimize=True)  # ~400 MP of zeros in a small file
    assert path.stat().st_size < 2_000_000
    with pytest.raises(ImageError, match="limit"):
        load_image(path)


def test_non_ascii_file_name(tmp_path: Path) -> None:
    path = save(tmp_path / "신의 탑_얼굴 ✓.png", Image.fromarray(gradient()))
    assert load_image(path).pixels.shape == (48, 64, 3)
    assert read_image(path).shape == (48, 64, 3)


def test_folder_named_like_an_image(tmp_path: Path) -> None:
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path / "dir.png")


def test_content_hash_ignores_encoding(tmp_path: Path) -> None:
    arr = gradient()
    a = save(tmp_path / "a.png", Image.fromarray(arr), compress_level=0)
    b = save(tmp_path / "b.png", Image.fromarray(arr), compress_level=9)
    assert a.read_bytes() != b.read_bytes()
    assert content_hash(load_image(a).pixels) == content_hash(load_image(b).pixels)


def test_atomic_save_leaves_old_file_when_encoding_fails(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    save_png_atomic(path, gradient())
    before = path.read_bytes()
    with pytest.raises(ImageError, match="PNG encoding failed"):
        save_png_atomic(path, np.zeros((0, 5, 3), np.uint8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cut.png"]


def test_flatten_alpha() -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 255)
    out = flatten_alpha(rgba)
    assert tuple(out[0, 0]) == (0, 0, 0) and tuple(out[1, 1]) == (255, 255, 255)


def test_image_error_survives_pickling_to_and_from_workers() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(ImageError("/x/cut.png", "truncated or corrupt image data")))
    assert (error.path, error.reason) == ("/x/cut.png", "truncated or corrupt image data")
    assert str(error) == "/x/cut.png: truncated or corrupt image data"
