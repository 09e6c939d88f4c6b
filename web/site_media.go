package web

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // DecodeConfig reads GIF avatars
	_ "image/jpeg" // and JPEG
	_ "image/png"  // and PNG; WebP is read by webpSize
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file is uploaded images: how an avatar is checked (its bytes sniffed,
// its size read from its header without decoding it), cleaned of the
// metadata phones put in photos (where they were taken), stored under the
// media directory with a random name, and served under /media/.

const (
	// maxAvatarBytes is the largest avatar file: 2 MiB.
	maxAvatarBytes = 2 << 20
	// maxAvatarSide is the widest and tallest an avatar may be, in pixels.
	maxAvatarSide = 4096
	// avatarDir is the subdirectory of the media directory for avatars.
	avatarDir = "avatars"
)

var (
	errNotImage      = errors.New("not a PNG, JPEG, GIF or WebP image")
	errImageSize     = errors.New("image dimensions out of bounds")
	errImageTooLarge = errors.New("image file too large")
)

// uploadedImage is a checked image, ready to store.
type uploadedImage struct {
	data          []byte
	ext           string // ".png", ".jpg", ".gif", ".webp"
	width, height int
}

// imageTypes maps the sniffed type of the accepted images to their file
// extension and to the format name image.DecodeConfig reports.
var imageTypes = map[string]struct{ ext, format string }{
	"image/png":  {".png", "png"},
	"image/jpeg": {".jpg", "jpeg"},
	"image/gif":  {".gif", "gif"},
	"image/webp": {".webp", "webp"},
}

// mediaTypes are the types /media/ serves, by extension.
var mediaTypes = map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}

// readImage reads an uploaded image and checks it: at most maxAvatarBytes,
// one of the four types by its content, with sides of 1 to maxAvatarSide
// pixels. Location and other metadata are removed from JPEG, PNG and WebP
// files.
func readImage(r io.Reader) (*uploadedImage, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxAvatarBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	if len(data) > maxAvatarBytes {
		return nil, errImageTooLarge
	}
	t, ok := imageTypes[http.DetectContentType(data)]
	if !ok {
		return nil, errNotImage
	}
	img := &uploadedImage{ext: t.ext}
	if t.format == "webp" {
		img.width, img.height, err = webpSize(data)
	} else {
		var cfg image.Config
		var format string
		cfg, format, err = image.DecodeConfig(bytes.NewReader(data))
		if format != t.format {
			err = errNotImage
		}
		img.width, img.height = cfg.Width, cfg.Height
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotImage, err)
	}
	if img.width < 1 || img.height < 1 || img.width > maxAvatarSide || img.height > maxAvatarSide {
		return nil, fmt.Errorf("%w: %d×%d", errImageSize, img.width, img.height)
	}
	switch t.format {
	case "jpeg":
		img.data, err = stripJPEG(data)
	case "png":
		img.data, err = stripPNG(data)
	case "webp":
		img.data, err = stripWebP(data)
	default:
		img.data = data
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotImage, err)
	}
	return img, nil
}

// webpSize reads the canvas size of a WebP file from its first chunk:
// VP8 (lossy), VP8L (lossless) or VP8X (extended).
func webpSize(b []byte) (w, h int, err error) {
	if len(b) < 20 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0, errors.New("webp: no RIFF header")
	}
	d := b[20:]
	if need := map[string]int{"VP8 ": 10, "VP8L": 5, "VP8X": 10}[string(b[12:16])]; len(d) < need {
		return 0, 0, errors.New("webp: truncated header")
	}
	switch string(b[12:16]) {
	case "VP8 ":
		if d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a {
			return 0, 0, errors.New("webp: no VP8 start code")
		}
		return int(binary.LittleEndian.Uint16(d[6:8]) & 0x3fff), int(binary.LittleEndian.Uint16(d[8:10]) & 0x3fff), nil
	case "VP8L":
		if d[0] != 0x2f {
			return 0, 0, errors.New("webp: no VP8L signature")
		}
		bits := binary.LittleEndian.Uint32(d[1:5])
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
	case "VP8X":
		le24 := func(p []byte) int { return int(p[0]) | int(p[1])<<8 | int(p[2])<<16 }
		return le24(d[4:7]) + 1, le24(d[7:10]) + 1, nil
	}
	return 0, 0, errors.New("webp: unknown first chunk")
}

// stripJPEG removes the application segments but JFIF (APP0), ICC colour
// profiles (APP2) and Adobe's colour transform (APP14), and the comments;
// Exif (APP1) is replaced by one holding only the orientation, so a phone
// photo keeps its way up but not where it was taken.
func stripJPEG(b []byte) ([]byte, error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, errors.New("jpeg: no SOI")
	}
	out := append(make([]byte, 0, len(b)), 0xff, 0xd8)
	for i := 2; i+1 < len(b); {
		if b[i] != 0xff {
			return nil, errors.New("jpeg: no marker")
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0xda || m == 0xd9: // start of scan: the rest is the image
			return append(out, b[i:]...), nil
		case m >= 0xd0 && m <= 0xd7 || m == 0x01:
			out = append(out, b[i:i+2]...)
			i += 2
			continue
		}
		if i+4 > len(b) {
			return nil, errors.New("jpeg: truncated")
		}
		n := int(binary.BigEndian.Uint16(b[i+2 : i+4]))
		if n < 2 || i+2+n > len(b) {
			return nil, errors.New("jpeg: bad segment length")
		}
		seg, payload := b[i:i+2+n], b[i+4:i+2+n]
		switch {
		case m == 0xe1 && bytes.HasPrefix(payload, []byte("Exif\x00\x00")):
			if o := exifOrientation(payload[6:]); o > 1 && o <= 8 {
				out = append(out, minimalExif(o)...)
			}
		case m == 0xe0, m == 0xee, m == 0xe2 && bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00")):
			out = append(out, seg...)
		case m >= 0xe1 && m <= 0xef, m == 0xfe:
			// other application data and comments: dropped
		default:
			out = append(out, seg...)
		}
		i += 2 + n
	}
	return nil, errors.New("jpeg: no image data")
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 of a TIFF
// structure; 0 when there is none.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(tiff[0:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(tiff[4:8]))
	if off < 8 || off+2 > len(tiff) {
		return 0
	}
	count := int(bo.Uint16(tiff[off : off+2]))
	for e := range count {
		p := off + 2 + 12*e
		if p+12 > len(tiff) {
			return 0
		}
		if bo.Uint16(tiff[p:p+2]) == 0x0112 && bo.Uint16(tiff[p+2:p+4]) == 3 {
			return int(bo.Uint16(tiff[p+8 : p+10]))
		}
	}
	return 0
}

// minimalExif is an APP1 segment whose Exif holds the orientation only.
func minimalExif(orientation int) []byte {
	seg := []byte{0xff, 0xe1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,
		'M', 'M', 0, 0x2a, 0, 0, 0, 8, // TIFF header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(orientation), 0, 0, // Orientation, SHORT, 1
		0, 0, 0, 0} // no next IFD
	return seg
}

// pngDropped are the PNG chunks that hold text, Exif and times.
var pngDropped = map[string]bool{"tEXt": true, "zTXt": true, "iTXt": true, "eXIf": true, "tIME": true}

// stripPNG removes text, Exif and time chunks.
func stripPNG(b []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(b, []byte(sig)) {
		return nil, errors.New("png: no signature")
	}
	out := append(make([]byte, 0, len(b)), sig...)
	for i := len(sig); i < len(b); {
		if i+12 > len(b) {
			return nil, errors.New("png: truncated chunk")
		}
		n := int(binary.BigEndian.Uint32(b[i : i+4]))
		end := i + 12 + n
		if n < 0 || end > len(b) || end < i {
			return nil, errors.New("png: bad chunk length")
		}
		typ := string(b[i+4 : i+8])
		if !pngDropped[typ] {
			out = append(out, b[i:end]...)
		}
		i = end
		if typ == "IEND" {
			return out, nil
		}
	}
	return nil, errors.New("png: no IEND")
}

// stripWebP removes the EXIF and XMP chunks and their flags.
func stripWebP(b []byte) ([]byte, error) {
	out := append(make([]byte, 0, len(b)), b[:12]...)
	for i := 12; i < len(b); {
		if i+8 > len(b) {
			return nil, errors.New("webp: truncated chunk")
		}
		n := int(binary.LittleEndian.Uint32(b[i+4 : i+8]))
		end := i + 8 + n + n%2
		if end > len(b) {
			if i+8+n != len(b) { // some writers leave off the last pad byte
				return nil, errors.New("webp: bad chunk length")
			}
			end = len(b)
		}
		switch string(b[i : i+4]) {
		case "EXIF", "XMP ":
		case "VP8X":
			chunk := bytes.Clone(b[i:end])
			if len(chunk) > 8 {
				chunk[8] &^= 0x08 | 0x04 // the Exif and XMP flags
			}
			out = append(out, chunk...)
		default:
			out = append(out, b[i:end]...)
		}
		i = end
	}
	binary.LittleEndian.PutUint32(out[4:8], uint32(len(out)-8))
	return out, nil
}

// storeAvatar writes an image under a random name and returns its URL.
// The file appears whole or not at all: written aside, then renamed.
func (s *Site) storeAvatar(img *uploadedImage) (string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	name := hex.EncodeToString(b[:]) + img.ext
	dir := filepath.Join(s.mediaDir, avatarDir)
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return "", fmt.Errorf("store avatar: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // fails once renamed: fine
	_, err = tmp.Write(img.data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return "", fmt.Errorf("store avatar: %w", err)
	}
	return s.url("/media/" + avatarDir + "/" + name), nil
}

// mediaNameRE is what a stored file's path looks like under /media/.
var mediaNameRE = regexp.MustCompile(`^` + avatarDir + `/[0-9a-f]{32}\.(png|jpg|gif|webp)$`)

// removeMedia deletes a file this site stored, named by its URL; other
// URLs (a default avatar, another server's) are left alone.
func (s *Site) removeMedia(url string) {
	name, ok := strings.CutPrefix(url, s.url("/media/"))
	if !ok || !mediaNameRE.MatchString(name) {
		return
	}
	if err := os.Remove(filepath.Join(s.mediaDir, filepath.FromSlash(name))); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("remove old avatar", "file", name, "error", err)
	}
}

// mediaFile serves GET /media/avatars/NAME: only names this site gives,
// with their type set from the name and no sniffing, in a sandbox should
// a browser open one as a page.
func (s *Site) mediaFile(w http.ResponseWriter, r *http.Request, _ *sitePage) error {
	name := strings.TrimPrefix(r.URL.Path, "/media/")
	if s.mediaDir == "" || !mediaNameRE.MatchString(name) {
		return fmt.Errorf("media %q: %w", name, chapter.ErrNotFound)
	}
	root, err := os.OpenRoot(s.mediaDir)
	if err != nil {
		return fmt.Errorf("media directory: %w", err)
	}
	defer func() { _ = root.Close() }()
	fi, err := root.Stat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("media %q: %w", name, chapter.ErrNotFound)
	}
	h := w.Header()
	h.Set("Content-Type", mediaTypes[filepath.Ext(name)])
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeFileFS(w, r, root.FS(), name)
	return nil
}
