#!/usr/bin/python3
"""Dev-only: writes the CLIP preprocessing parity goldens under test/golden/clip/.

Run with Debian's Python (python3-pil, python3-numpy), never needed by CI or tests:

    /usr/bin/python3 tools/clip_preprocess_goldens.py

It generates small deterministic test images covering the cases the issue lists (WEBEmo-like 220x147 and
146x220 thumbnails that CLIP upsamples, a large downscale, greyscale, palette, PNG with alpha, CMYK JPEG,
an EXIF-rotated JPEG, 16-bit RGB and grey PNGs), then preprocesses each one exactly like Hugging Face's CLIPImageProcessor does
with Pillow (convert RGB, shortest side -> 224 with BICUBIC, floor center crop, rescale, normalise in
float32), and stores:
  <name>.crop.npy   uint8 [112, 112, 3]   the Pillow-resized, cropped RGB, every 2nd pixel (exact comparison)
  <name>.norm.npy   float32 [3, 56, 56]   the normalised CHW tensor, every 4th pixel (size-limited)
plus goldens.json (file list, Pillow/numpy versions, shapes).

Decoding cases (real photographs from python3-skimage and ImageMagick's built-in `rose:` and `wizard:`,
ICC-tagged JPEGs with Ghostscript's Adobe RGB (a98.icc) and ROMM RGB profiles, GIFs with a transparent
palette index, BMP of 8, 24 and 32 bits, ICO with BMP and PNG entries) store no arrays, only hashes in
goldens.json, so the committed files stay small:
  rgb_sha256    sha256 of Image.open(f).convert('RGB').tobytes()   (decoding, byte for byte)
  crop_sha256   sha256 of the full 224x224x3 resized and cropped RGB
Every case has both hashes. Needs: apt-get install python3-skimage imagemagick libgs-common.
"""
import hashlib
import json
import os
import struct
import subprocess
import zlib

import numpy as np
import PIL
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden', 'clip')
IMAGES = os.path.join(ROOT, 'images')
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
RESCALE = 0.00392156862745098
SIZE = 224
STRIDE = 4
CROP_STRIDE = 2


def scene(w, h, seed, noise=4.0):
    """Photo-like content: smooth gradients, hard-edged shapes and mild noise (edges stress the taps)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        fx, fy, ph = rng.uniform(1, 6), rng.uniform(1, 6), rng.uniform(0, 6.28)
        img[..., c] = 127 + 100 * np.sin(2 * np.pi * (fx * x / w + fy * y / h) + ph)
    for _ in range(6):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        x1, y1 = x0 + rng.integers(w // 10, w // 2), y0 + rng.integers(h // 10, h // 2)
        img[y0:y1, x0:x1] = rng.integers(0, 256, 3)
    img += rng.normal(0, noise, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def png16(path, arr, color_type):
    """A 16-bit PNG written by hand: Pillow cannot save 16-bit RGB."""
    h, w = arr.shape[:2]
    raw = b''.join(b'\x00' + arr[y].astype('>u2').tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, color_type, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def make_images():
    os.makedirs(IMAGES, exist_ok=True)
    out = {}

    def save(name, im, **kw):
        path = os.path.join(IMAGES, name)
        im.save(path, **kw)
        out[name] = path

    save('webemo-220x147.png', Image.fromarray(scene(220, 147, 1)))
    save('webemo-146x220.png', Image.fromarray(scene(146, 220, 2)))
    save('webemo-220x147.jpg', Image.fromarray(scene(220, 147, 3)), quality=90)
    save('large-1000x750.png', Image.fromarray(scene(1000, 750, 4, noise=0)))
    save('large-900x1200.jpg', Image.fromarray(scene(900, 1200, 5)), quality=85)
    save('grey-300x200.png', Image.fromarray(scene(300, 200, 6)[..., 0], mode='L'))
    save('grey-260x180.jpg', Image.fromarray(scene(260, 180, 7)[..., 1], mode='L'), quality=90)
    rgba = np.dstack([scene(256, 300, 8), scene(256, 300, 9, noise=0)[..., 0]])
    save('alpha-256x300.png', Image.fromarray(rgba, mode='RGBA'))
    save('palette-230x170.png', Image.fromarray(scene(230, 170, 10)).quantize(colors=64, method=Image.Quantize.MEDIANCUT))
    save('cmyk-240x180.jpg', Image.fromarray(scene(240, 180, 11)).convert('CMYK'), quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display; PIL (and CLIP) ignore it
    save('exif6-200x260.jpg', Image.fromarray(scene(200, 260, 12)), quality=90, exif=exif.tobytes())
    deep = scene(160, 120, 13, noise=0).astype(np.uint16) * 257
    png16(os.path.join(IMAGES, 'rgb16-160x120.png'), deep, 2)
    out['rgb16-160x120.png'] = os.path.join(IMAGES, 'rgb16-160x120.png')
    # Mostly above 255: PIL clips 16-bit grey when converting to RGB (a quirk we reproduce).
    png16(os.path.join(IMAGES, 'grey16-120x160.png'), (scene(120, 160, 14, noise=0)[..., 0].astype(np.uint16) * 2), 0)
    out['grey16-120x160.png'] = os.path.join(IMAGES, 'grey16-120x160.png')
    return out


ICC = '/usr/share/color/icc/ghostscript'


def make_decoding_images():
    """Real photographs and the container cases where decoders disagree; hashes only (see the docstring)."""
    from skimage import data
    os.makedirs(IMAGES, exist_ok=True)
    out = {}

    def path(name):
        out[name] = os.path.join(IMAGES, name)
        return out[name]

    def magick(*args):
        subprocess.run(['convert', *args], check=True)

    astronaut = Image.fromarray(data.astronaut()).resize((256, 256), Image.Resampling.LANCZOS)
    chelsea = Image.fromarray(data.chelsea())
    coffee = Image.fromarray(data.coffee()).resize((300, 200), Image.Resampling.LANCZOS)
    chelsea.save(path('photo-chelsea-451x300.jpg'), quality=85)
    # ICC-tagged: Pillow ignores the profile, sharp would convert to sRGB (differences up to 0.47 normalised).
    with open(os.path.join(ICC, 'a98.icc'), 'rb') as f:
        astronaut.save(path('icc-adobergb-astronaut-256.jpg'), quality=90, icc_profile=f.read())
    with open(os.path.join(ICC, 'rommrgb.icc'), 'rb') as f:
        coffee.save(path('icc-rommrgb-coffee-300x200.jpg'), quality=90, icc_profile=f.read())
    # GIFs with a transparent palette index whose colour is not black (Pillow gives the palette colour).
    def transparent_gif(im, name):
        """The brightest palette colour in use becomes the transparent index (sharp would make it black)."""
        pal = im.quantize(colors=64)
        used = np.unique(np.asarray(pal))
        rgb = np.array(pal.getpalette()[:3 * 256]).reshape(-1, 3)
        pal.save(path(name), transparency=int(used[np.argmax(rgb[used].sum(axis=1))]))

    tmp = os.path.join(IMAGES, 'tmp.png')
    magick('wizard:', '-resize', '50%', tmp)
    transparent_gif(Image.open(tmp).convert('RGB'), 'gif-transparent-wizard-240x320.gif')
    os.remove(tmp)
    transparent_gif(coffee.resize((150, 100)), 'gif-transparent-coffee-150x100.gif')
    # BMP: 24-bit (ImageMagick rose:), 8-bit palette and 32-bit with alpha (Pillow).
    magick('rose:', 'BMP3:' + path('bmp24-rose-70x46.bmp'))
    chelsea.resize((150, 100)).quantize(colors=64).save(path('bmp8-chelsea-150x100.bmp'))
    rgba = chelsea.resize((90, 60)).convert('RGBA')
    rgba.putalpha(Image.fromarray(scene(90, 60, 21, noise=0)[..., 0]))
    rgba.save(path('bmp32-chelsea-90x60.bmp'))
    # ICO: ImageMagick writes small entries as BMP; Pillow writes PNG entries (PIL opens the largest).
    magick('rose:', '-resize', '48x48!', 'BMP3:' + os.path.join(IMAGES, 'tmp.bmp'))
    magick(os.path.join(IMAGES, 'tmp.bmp'), path('ico-bmp-rose-48.ico'))
    os.remove(os.path.join(IMAGES, 'tmp.bmp'))
    astronaut.resize((64, 64)).save(path('ico-png-astronaut-64.ico'), sizes=[(32, 32), (64, 64)])
    return out


def preprocess(path):
    """CLIPImageProcessor, step by step (transformers' image_transforms semantics)."""
    im = Image.open(path).convert('RGB')
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = SIZE, int(SIZE * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    im = im.resize((nw, nh), Image.Resampling.BICUBIC)
    arr = np.asarray(im)
    top, left = (nh - SIZE) // 2, (nw - SIZE) // 2
    crop = arr[top:top + SIZE, left:left + SIZE]
    x = (crop.astype(np.float64) * RESCALE).astype(np.float32)
    x = (x - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    return np.ascontiguousarray(crop[::CROP_STRIDE, ::CROP_STRIDE]), np.ascontiguousarray(x.transpose(2, 0, 1)[:, ::STRIDE, ::STRIDE]).astype(np.float32), crop


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def main():
    images = make_images()
    decoding = make_decoding_images()
    cases = []
    for name, path in sorted({**images, **decoding}.items()):
        crop, norm, full = preprocess(path)
        case = {'image': 'images/' + name}
        if name in images:
            np.save(os.path.join(ROOT, name + '.crop.npy'), crop)
            np.save(os.path.join(ROOT, name + '.norm.npy'), norm)
            case.update({'crop': name + '.crop.npy', 'norm': name + '.norm.npy'})
        case.update({'size': list(Image.open(path).size), 'mode': Image.open(path).mode,
                     'rgb_sha256': sha256(Image.open(path).convert('RGB').tobytes()),
                     'crop_sha256': sha256(np.ascontiguousarray(full).tobytes())})
        cases.append(case)
    meta = {'pillow': PIL.__version__, 'numpy': np.__version__, 'size': SIZE, 'norm_stride': STRIDE, 'crop_stride': CROP_STRIDE,
            'mean': MEAN, 'std': STD, 'rescale_factor': RESCALE, 'cases': cases}
    with open(os.path.join(ROOT, 'goldens.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
