package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// These tests are about avatars: what an upload must be, what is removed
// from it, where it is kept and how it is served.

// upload posts an avatar form: the file (named name, sent as type ct)
// and the token, unless token is "-".
func (b *browser) upload(name, ct string, data []byte, token string) sitePageRes {
	b.t.Helper()
	if token == "" {
		token = b.token(b.get("/settings/profile"), "/settings/avatar")
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if token != "-" {
		_ = mw.WriteField(tokenField, token)
	}
	if data != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="avatar"; filename="`+name+`"`)
		h.Set("Content-Type", ct)
		w, err := mw.CreatePart(h)
		if err != nil {
			b.t.Fatal(err)
		}
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	return b.do(http.MethodPost, "/settings/avatar", mw.FormDataContentType(), &body)
}

func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 16), uint8(y * 16), 0x80, 0xff})
		}
	}
	return img
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(16, 16), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gifBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gif.Encode(&buf, testImage(16, 16), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// secret is what a photo's metadata says and the stored file must not.
const secret = "GPS 48.8566N 2.3522E"

// jpegWithExif is a JPEG with an Exif segment (orientation 6, and the
// secret after the IFD, as GPS data sits), an XMP segment and a comment.
func jpegWithExif(t *testing.T) []byte {
	t.Helper()
	tiff := []byte{'I', 'I', 0x2a, 0, 8, 0, 0, 0, // little-endian, IFD0 at 8
		1, 0, // one entry
		0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, // Orientation = 6
		0, 0, 0, 0}
	tiff = append(tiff, secret...)
	seg := func(marker byte, payload []byte) []byte {
		n := len(payload) + 2
		return append([]byte{0xff, marker, byte(n >> 8), byte(n)}, payload...)
	}
	plain := jpegBytes(t)
	out := append([]byte{}, plain[:2]...)
	out = append(out, seg(0xe1, append([]byte("Exif\x00\x00"), tiff...))...)
	out = append(out, seg(0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>"+secret+"</x:xmpmeta>"))...)
	out = append(out, seg(0xfe, []byte(secret))...)
	return append(out, plain[2:]...)
}

// pngWithText is a PNG with a tEXt chunk holding the secret.
func pngWithText(t *testing.T) []byte {
	t.Helper()
	plain := pngBytes(t, 16, 16)
	data := []byte("Comment\x00" + secret)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(append([]byte("tEXt"), data...)))
	ihdrEnd := 8 + 12 + 13
	return append(append(append([]byte{}, plain[:ihdrEnd]...), chunk...), plain[ihdrEnd:]...)
}

// webp builds a WebP file from chunks (fourcc, payload), padded.
func webp(chunks ...[2]string) []byte {
	var body []byte
	for _, c := range chunks {
		body = append(body, c[0]...)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(c[1])))
		body = append(body, c[1]...)
		if len(c[1])%2 == 1 {
			body = append(body, 0)
		}
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	return append(append(out, "WEBP"...), body...)
}

// vp8l is a lossless bitstream header for w×h (and some bytes of data).
func vp8l(w, h int) string {
	bits := uint32(w-1) | uint32(h-1)<<14
	return string(append([]byte{0x2f}, binary.LittleEndian.AppendUint32(nil, bits)...)) + "\x00\x00\x00"
}

// vp8x is an extended header for a w×h canvas with the given flags.
func vp8x(w, h int, flags byte) string {
	le24 := func(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16)} }
	b := append([]byte{flags, 0, 0, 0}, le24(w-1)...)
	return string(append(b, le24(h-1)...))
}

// mediaFiles lists the stored avatars.
func (e *formEnv) mediaFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.media, avatarDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	return names
}

// TestSiteAvatarUpload uploads avatars, stores them under the media
// directory, serves them safely, and replaces the old one.
func TestSiteAvatarUpload(t *testing.T) {
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	b := e.signedIn(t, "alice")
	res := b.page("/settings/profile", http.StatusOK)
	form := findNode(res.doc, func(n *html.Node) bool { return n.Data == "form" && attr(n, "action") == "/settings/avatar" })
	if form == nil || attr(form, "enctype") != "multipart/form-data" {
		t.Fatal("no multipart avatar form")
	}
	if in := findNode(form, func(n *html.Node) bool { return attr(n, "type") == "file" }); in == nil || !strings.Contains(attr(in, "accept"), "image/webp") {
		t.Error("no file field accepting the four types")
	}

	res = b.upload("me.png", "image/png", pngBytes(t, 64, 48), "")
	wantStatus(t, "upload", res, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/settings/profile?done=avatar" {
		t.Errorf("after the upload: to %q", loc)
	}
	a := e.accountByName(t, "alice")
	name, ok := strings.CutPrefix(a.AvatarURL, testPublicURL+"/media/")
	if !ok || !mediaNameRE.MatchString(name) || !strings.HasSuffix(name, ".png") {
		t.Fatalf("avatar URL %q", a.AvatarURL)
	}
	if e.pub.count(chapter.EventProfileUpdated, "alice") == 0 {
		t.Error("followers are not told of the new avatar")
	}
	fi, err := os.Stat(filepath.Join(e.media, filepath.FromSlash(name)))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("the stored file: %v, %v", fi, err)
	}
	res = b.get("/media/" + name)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "image/png" ||
		res.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("GET /media/%s: %d %v", name, res.status, res.header)
	}
	if cfg, format, err := image.DecodeConfig(strings.NewReader(res.body)); err != nil || format != "png" || cfg.Width != 64 {
		t.Errorf("the served avatar: %v %s %v", cfg, format, err)
	}
	for _, path := range []string{"/@alice", "/settings/profile"} {
		res := b.page(path, http.StatusOK)
		if findNode(res.doc, func(n *html.Node) bool { return n.Data == "img" && attr(n, "src") == "/media/"+name }) == nil {
			t.Errorf("%s does not show the new avatar", path)
		}
	}
	if got := e.mediaFiles(t); len(got) != 1 {
		t.Errorf("files %v", got)
	}

	// A new one replaces it, and the old file goes.
	res = b.upload("me.gif", "image/gif", gifBytes(t), "")
	wantStatus(t, "second upload", res, http.StatusSeeOther)
	if got := e.mediaFiles(t); len(got) != 1 || !strings.HasSuffix(got[0], ".gif") {
		t.Errorf("after replacing: files %v", got)
	}
	if res := b.get("/media/" + name); res.status != http.StatusNotFound {
		t.Errorf("the old avatar is still served: %d", res.status)
	}
	b.page("/settings/profile?done=avatar", http.StatusOK)
}

// TestSiteAvatarRefused refuses what is not a small enough image, and
// keeps nothing of it.
func TestSiteAvatarRefused(t *testing.T) {
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	b := e.signedIn(t, "alice")
	before := e.accountByName(t, "alice").AvatarURL
	big := make([]byte, maxAvatarBytes+1)
	copy(big, pngBytes(t, 16, 16))
	huge := make([]byte, 3*maxAvatarBytes)
	for _, tc := range []struct {
		name, file, ct string
		data           []byte
		token          string
		status         int
		text           string
	}{
		{"no file", "", "", nil, "", http.StatusUnprocessableEntity, "Choose an image file."},
		{"HTML named .png", "evil.png", "image/png", []byte("<html><script>alert(1)</script></html>"), "",
			http.StatusUnsupportedMediaType, "not a PNG, JPEG, GIF or WebP image"},
		{"SVG", "logo.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "",
			http.StatusUnsupportedMediaType, "not a PNG, JPEG, GIF or WebP image"},
		{"PDF", "doc.png", "image/png", []byte("%PDF-1.4\n"), "", http.StatusUnsupportedMediaType, "not a PNG"},
		{"truncated PNG", "cut.png", "image/png", pngBytes(t, 16, 16)[:30], "", http.StatusUnsupportedMediaType, "not a PNG"},
		{"too wide", "wide.png", "image/png", pngBytes(t, maxAvatarSide+1, 1), "", http.StatusUnprocessableEntity,
			"at most 4,096 pixels"},
		{"too tall WebP", "tall.webp", "image/webp", webp([2]string{"VP8X", vp8x(16, 5000, 0)}), "",
			http.StatusUnprocessableEntity, "at most 4,096 pixels"},
		{"a byte over 2 MiB", "big.png", "image/png", big, "", http.StatusRequestEntityTooLarge, "larger than 2 MiB"},
		{"3 MiB", "huge.png", "image/png", huge, "", http.StatusRequestEntityTooLarge, "larger than 2 MiB"},
		{"no token", "me.png", "image/png", pngBytes(t, 16, 16), "-", http.StatusForbidden, "This form has expired"},
		{"wrong token", "me.png", "image/png", pngBytes(t, 16, 16), "forged", http.StatusForbidden, "This form has expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.upload(tc.file, tc.ct, tc.data, tc.token)
			wantStatus(t, tc.name, res, tc.status)
			checkStructure(t, tc.name, res)
			wantText(t, tc.name, res, tc.text)
			if res.status == http.StatusUnprocessableEntity || res.status == http.StatusUnsupportedMediaType {
				if got := fieldError(t, res, "avatar-avatar"); !strings.Contains(got, tc.text) {
					t.Errorf("the field's error: %q", got)
				}
			}
			if got := e.accountByName(t, "alice").AvatarURL; got != before {
				t.Errorf("the avatar changed to %q", got)
			}
			if got := e.mediaFiles(t); len(got) != 0 {
				t.Errorf("files kept: %v", got)
			}
		})
	}
	// Others' uploads need a session.
	v := e.browser(t)
	v.get("/login")
	if res := v.upload("me.png", "image/png", pngBytes(t, 16, 16), formToken(v.cookies[visitorCookie].Value)); res.status != http.StatusForbidden {
		t.Errorf("a visitor's upload: %d", res.status)
	}
}

// TestSiteAvatarMetadata removes where a photo was taken (Exif, XMP,
// comments, PNG text, WebP metadata) and keeps which way is up.
func TestSiteAvatarMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		ext  string
	}{
		{"jpeg", jpegWithExif(t), ".jpg"},
		{"png", pngWithText(t), ".png"},
		{"webp", webp([2]string{"VP8X", vp8x(16, 16, 0x08|0x04)}, [2]string{"VP8L", vp8l(16, 16)},
			[2]string{"EXIF", "II*\x00" + secret}, [2]string{"XMP ", "<x>" + secret + "</x>"}), ".webp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(tc.data, []byte(secret)) {
				t.Fatal("the test image holds no secret")
			}
			img, err := readImage(bytes.NewReader(tc.data))
			if err != nil {
				t.Fatalf("readImage: %v", err)
			}
			if img.ext != tc.ext || img.width != 16 || img.height != 16 {
				t.Errorf("read as %s %d×%d", img.ext, img.width, img.height)
			}
			if bytes.Contains(img.data, []byte(secret)) {
				t.Error("the secret is still in the file")
			}
			switch tc.name {
			case "jpeg":
				if _, err := jpeg.Decode(bytes.NewReader(img.data)); err != nil {
					t.Errorf("the cleaned JPEG does not decode: %v", err)
				}
				i := bytes.Index(img.data, []byte("Exif\x00\x00"))
				if i < 0 || exifOrientation(img.data[i+6:]) != 6 {
					t.Error("the orientation is lost")
				}
			case "png":
				if _, err := png.Decode(bytes.NewReader(img.data)); err != nil {
					t.Errorf("the cleaned PNG does not decode: %v", err)
				}
			case "webp":
				if got := binary.LittleEndian.Uint32(img.data[4:8]); int(got) != len(img.data)-8 {
					t.Errorf("RIFF size %d for %d bytes", got, len(img.data))
				}
				if img.data[20]&(0x08|0x04) != 0 {
					t.Error("the VP8X flags still announce Exif or XMP")
				}
				if w, h, err := webpSize(img.data); err != nil || w != 16 || h != 16 {
					t.Errorf("the cleaned WebP: %d×%d %v", w, h, err)
				}
			}
		})
	}
	// A JPEG without orientation gets no Exif at all.
	img, err := readImage(bytes.NewReader(jpegBytes(t)))
	if err != nil || bytes.Contains(img.data, []byte("Exif")) {
		t.Errorf("a plain JPEG: %v", err)
	}
}

// TestSiteWebPSize reads the three kinds of WebP header.
func TestSiteWebPSize(t *testing.T) {
	vp8 := "\x9d\x01\x2a"
	lossy := "\x00\x00\x00" + vp8 + string(binary.LittleEndian.AppendUint16(nil, 640)) +
		string(binary.LittleEndian.AppendUint16(nil, 480|0xc000)) // scale bits ignored
	for name, tc := range map[string]struct {
		data []byte
		w, h int
	}{
		"VP8":  {webp([2]string{"VP8 ", lossy}), 640, 480},
		"VP8L": {webp([2]string{"VP8L", vp8l(300, 200)}), 300, 200},
		"VP8X": {webp([2]string{"VP8X", vp8x(4096, 1, 0)}), 4096, 1},
	} {
		w, h, err := webpSize(tc.data)
		if err != nil || w != tc.w || h != tc.h {
			t.Errorf("%s: %d×%d %v, want %d×%d", name, w, h, err, tc.w, tc.h)
		}
		if ct := http.DetectContentType(tc.data); ct != "image/webp" {
			t.Errorf("%s sniffs as %s", name, ct)
		}
	}
	if _, _, err := webpSize(webp([2]string{"ALPH", "0123456789"})); err == nil {
		t.Error("an unknown first chunk is read")
	}
}

// TestSiteMediaFiles serves only the names the site gives, and nothing
// when there is no media directory.
func TestSiteMediaFiles(t *testing.T) {
	e := newFormEnv(t)
	if err := os.WriteFile(filepath.Join(e.media, "secret.txt"), []byte("no"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.media, avatarDir, "page.html"), []byte("<script>"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	for _, path := range []string{"/media/", "/media/secret.txt", "/media/avatars/", "/media/avatars/page.html",
		"/media/avatars/../secret.txt", "/media/avatars/%2e%2e/secret.txt", "/media/avatars/" + strings.Repeat("0", 32) + ".png"} {
		if res := b.get(path); res.status != http.StatusNotFound && res.status != http.StatusMovedPermanently {
			t.Errorf("GET %s: %d", path, res.status)
		} else if strings.Contains(res.body, "<script>") || res.body == "no" {
			t.Errorf("GET %s served the file", path)
		}
	}

	// Without a media directory: no avatar form, no uploads, no /media/.
	e = newFormEnvMedia(t, false)
	e.account(t, "alice", chapter.RoleMember)
	b = e.signedIn(t, "alice")
	res := b.get("/settings/profile")
	if findNode(res.doc, func(n *html.Node) bool { return attr(n, "action") == "/settings/avatar" }) != nil {
		t.Error("an avatar form without a media directory")
	}
	token := b.token(res, "/settings/profile")
	if res := b.upload("me.png", "image/png", pngBytes(t, 16, 16), token); res.status != http.StatusNotFound {
		t.Errorf("an upload without a media directory: %d", res.status)
	}
	if res := b.get("/media/avatars/" + strings.Repeat("a", 32) + ".png"); res.status != http.StatusNotFound {
		t.Errorf("/media/ without a media directory: %d", res.status)
	}
	if a, _ := e.db.AccountByUsername(context.Background(), "alice"); a.AvatarURL != "" {
		t.Errorf("avatar %q", a.AvatarURL)
	}
}
