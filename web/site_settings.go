package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file is a member's settings: their profile (name, bio, region)
// and their avatar. The images themselves are checked, stored and served
// by site_media.go.

// settingsView is /settings/profile.
type settingsView struct {
	*sitePage
	Profile *form
	Avatar  *form // nil when the node takes no uploads
	// AvatarURL is the member's avatar as the pages show it.
	AvatarURL string
}

// doneNotices are the notices a form's redirect may ask a page to show,
// by the value of ?done=.
var doneNotices = map[string]string{
	"saved":    "NoticeSaved",
	"avatar":   "NoticeAvatar",
	"approved": "NoticeApproved",
	"declined": "NoticeDeclined",
	"child":    "NoticeChildApproved",
	"suspend":  "NoticeSuspended",
	"reactive": "NoticeReactivated",
	"removed":  "NoticeRemoved",
	"blocked":  "NoticeBlocked",
}

// notice sets the page's notice from ?done=, if it names one.
func notice(r *http.Request, pg *sitePage) {
	if id := doneNotices[r.URL.Query().Get("done")]; id != "" {
		pg.Notice = pg.T(id)
	}
}

func (s *Site) profileFields(l *siteLang) *form {
	f := newForm("profile")
	f.add(&field{Name: "name", Label: l.T("FieldName"), Required: true, MaxLength: 100, Autocomplete: "name"})
	f.add(&field{Name: "bio", Kind: "textarea", Rows: 5, Label: l.T("FieldBio"), Help: l.T("HelpBio"),
		MaxLength: 2000})
	f.add(&field{Name: "region", Label: l.T("FieldRegion"), Help: l.T("HelpRegion"), MaxLength: 100,
		Autocomplete: "address-level2"})
	return f.optional(l)
}

func (s *Site) avatarFields(l *siteLang) *form {
	if s.mediaDir == "" {
		return nil
	}
	f := newForm("avatar")
	f.add(&field{Name: "avatar", Type: "file", Label: l.T("FieldAvatar"),
		Help: l.T("HelpAvatar", "Max", l.Number(maxAvatarSide)), Required: true})
	return f
}

// settingsForm serves GET /settings/profile.
func (s *Site) settingsForm(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	notice(r, pg)
	f := s.profileFields(pg.siteLang)
	me := pg.me
	f.F("name").Value, f.F("bio").Value, f.F("region").Value = displayName(me), htmlToText(me.Bio), me.Region
	return s.renderSettings(w, pg, f, s.avatarFields(pg.siteLang), http.StatusOK)
}

func (s *Site) renderSettings(w http.ResponseWriter, pg *sitePage, profile, avatar *form, status int) error {
	pg.Title, pg.Nav = pg.T("SettingsTitle"), "settings"
	v := &settingsView{sitePage: pg, Profile: profile, Avatar: avatar, AvatarURL: s.author(pg.me).Avatar}
	return s.render(w, pg, "settings", status, v)
}

// saveProfile serves POST /settings/profile.
func (s *Site) saveProfile(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	f := s.profileFields(pg.siteLang)
	f.fill(r.PostForm)
	name := strings.TrimSpace(f.F("name").Value)
	bio := strings.TrimSpace(f.F("bio").Value)
	region := strings.TrimSpace(f.F("region").Value)
	if n := len([]rune(name)); n == 0 {
		f.set("name", pg.T("ErrRequired"))
	} else if n > 100 {
		f.set("name", pg.T("ErrTooLong", "Max", pg.Number(100)))
	}
	if len([]rune(bio)) > 2000 {
		f.set("bio", pg.T("ErrTooLong", "Max", pg.Number(2000)))
	}
	if len([]rune(region)) > 100 {
		f.set("region", pg.T("ErrTooLong", "Max", pg.Number(100)))
	}
	if f.invalid() {
		return s.renderSettings(w, pg, f, s.avatarFields(pg.siteLang), http.StatusUnprocessableEntity)
	}
	ctx := r.Context()
	_, err := s.svc.UpdateProfile(ctx, pg.me.ID, name, bio)
	if err == nil && region != pg.me.Region {
		err = s.svc.SetRegion(ctx, pg.me.ID, region)
	}
	if errors.Is(err, chapter.ErrInvalid) {
		s.log.Debug("profile refused", "error", err)
		f.Error = pg.T("ErrFormInvalid")
		return s.renderSettings(w, pg, f, s.avatarFields(pg.siteLang), http.StatusUnprocessableEntity)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/settings/profile?done=saved", http.StatusSeeOther)
	return nil
}

// uploadAvatar serves POST /settings/avatar, a multipart form: the body
// is capped a little above maxAvatarBytes (413 beyond), the form token
// checked, and the file must be a PNG, JPEG, GIF or WebP image, by its
// bytes and not its name (415 otherwise), at most maxAvatarSide pixels a
// side.
func (s *Site) uploadAvatar(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	if s.mediaDir == "" {
		return fmt.Errorf("avatar uploads are off, no media directory: %w", chapter.ErrNotFound)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAvatarBytes+maxFormBytes)
	if err := r.ParseMultipartForm(maxAvatarBytes + maxFormBytes); err != nil {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			return avatarTooLarge(err)
		}
		return fmt.Errorf("avatar form: %v: %w", err, chapter.ErrInvalid)
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	if err := s.checkToken(r, pg.session); err != nil {
		return err
	}
	avatar := s.avatarFields(pg.siteLang)
	profile := s.profileFields(pg.siteLang)
	profile.F("name").Value, profile.F("bio").Value, profile.F("region").Value =
		displayName(pg.me), htmlToText(pg.me.Bio), pg.me.Region
	file, hdr, err := r.FormFile("avatar")
	if err != nil {
		avatar.set("avatar", pg.T("ErrAvatarMissing"))
		return s.renderSettings(w, pg, profile, avatar, http.StatusUnprocessableEntity)
	}
	defer func() { _ = file.Close() }()
	if hdr.Size > maxAvatarBytes {
		return avatarTooLarge(errors.New("avatar file too large"))
	}
	img, err := readImage(file)
	switch {
	case errors.Is(err, errNotImage):
		avatar.set("avatar", pg.T("ErrAvatarType"))
		return s.renderSettings(w, pg, profile, avatar, http.StatusUnsupportedMediaType)
	case errors.Is(err, errImageSize):
		avatar.set("avatar", pg.T("ErrAvatarSize", "Max", pg.Number(maxAvatarSide)))
		return s.renderSettings(w, pg, profile, avatar, http.StatusUnprocessableEntity)
	case errors.Is(err, errImageTooLarge):
		return avatarTooLarge(err)
	case err != nil:
		return err
	}
	url, err := s.storeAvatar(img)
	if err != nil {
		return err
	}
	old := pg.me.AvatarURL
	if _, err := s.svc.SetAvatar(r.Context(), pg.me.ID, url); err != nil {
		s.removeMedia(url)
		return err
	}
	s.removeMedia(old)
	http.Redirect(w, r, "/settings/profile?done=avatar", http.StatusSeeOther)
	return nil
}

func avatarTooLarge(err error) error {
	return &siteError{status: http.StatusRequestEntityTooLarge, title: "TooLargeTitle", text: "AvatarTooLargeText", err: err}
}
