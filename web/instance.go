package web

import (
	"context"
	"fmt"
	"net/http"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// sourceURL is where Chapterhouse's source lives, for the v2 instance.
const sourceURL = "https://github.com/chapterhouse/chapterhouse"

// mastodonCompatVersion is the Mastodon API level this API imitates:
// clients read the version to decide which features to use.
const mastodonCompatVersion = "4.2.0"

// instanceV1JSON is Mastodon's v1 Instance entity.
type instanceV1JSON struct {
	URI              string         `json:"uri"`
	Title            string         `json:"title"`
	ShortDescription string         `json:"short_description"`
	Description      string         `json:"description"`
	Email            string         `json:"email"`
	Version          string         `json:"version"`
	URLs             struct{}       `json:"urls"`
	Stats            instanceStats  `json:"stats"`
	Thumbnail        string         `json:"thumbnail"`
	Languages        []string       `json:"languages"`
	Registrations    bool           `json:"registrations"`
	ApprovalRequired bool           `json:"approval_required"`
	InvitesEnabled   bool           `json:"invites_enabled"`
	Configuration    instanceConfig `json:"configuration"`
	ContactAccount   *accountJSON   `json:"contact_account"`
	Rules            []none         `json:"rules"`
}

type instanceStats struct {
	UserCount   int `json:"user_count"`
	StatusCount int `json:"status_count"`
	DomainCount int `json:"domain_count"`
}

// instanceConfig tells clients the limits of posts, so their composers
// count characters as we do, and that media and polls are not taken.
type instanceConfig struct {
	Statuses struct {
		MaxCharacters            int `json:"max_characters"`
		MaxMediaAttachments      int `json:"max_media_attachments"`
		CharactersReservedPerURL int `json:"characters_reserved_per_url"`
	} `json:"statuses"`
	MediaAttachments struct {
		SupportedMIMETypes []string `json:"supported_mime_types"`
		ImageSizeLimit     int      `json:"image_size_limit"`
		VideoSizeLimit     int      `json:"video_size_limit"`
	} `json:"media_attachments"`
	Polls struct {
		MaxOptions             int `json:"max_options"`
		MaxCharactersPerOption int `json:"max_characters_per_option"`
		MinExpiration          int `json:"min_expiration"`
		MaxExpiration          int `json:"max_expiration"`
	} `json:"polls"`
}

// instanceV2JSON is Mastodon's v2 Instance entity.
type instanceV2JSON struct {
	Domain      string `json:"domain"`
	Title       string `json:"title"`
	Version     string `json:"version"`
	SourceURL   string `json:"source_url"`
	Description string `json:"description"`
	Usage       struct {
		Users struct {
			ActiveMonth int `json:"active_month"`
		} `json:"users"`
	} `json:"usage"`
	Thumbnail struct {
		URL string `json:"url"`
	} `json:"thumbnail"`
	Languages     []string `json:"languages"`
	Configuration struct {
		instanceConfig
		URLs struct {
			Streaming *string `json:"streaming"`
		} `json:"urls"`
		Translation struct {
			Enabled bool `json:"enabled"`
		} `json:"translation"`
	} `json:"configuration"`
	Registrations struct {
		Enabled          bool    `json:"enabled"`
		ApprovalRequired bool    `json:"approval_required"`
		Message          *string `json:"message"`
	} `json:"registrations"`
	Contact struct {
		Email   string       `json:"email"`
		Account *accountJSON `json:"account"`
	} `json:"contact"`
	Rules []none `json:"rules"`
}

// instanceV1 describes the node: GET /api/v1/instance.
func (a *API) instanceV1(w http.ResponseWriter, r *http.Request) {
	members, posts, err := a.instanceCounts(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	node := a.svc.Node()
	j := instanceV1JSON{
		URI: node.Host, Title: node.Name, ShortDescription: node.Summary, Description: node.Summary,
		Version: a.compatVersion(), Stats: instanceStats{UserCount: members, StatusCount: posts},
		Thumbnail: a.thumbnail(), Languages: []string{"en"}, ApprovalRequired: true,
		Configuration: postLimits(), Rules: []none{},
	}
	writeJSON(w, http.StatusOK, j)
}

// instanceV2 describes the node: GET /api/v2/instance.
func (a *API) instanceV2(w http.ResponseWriter, r *http.Request) {
	members, _, err := a.instanceCounts(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	node := a.svc.Node()
	j := instanceV2JSON{Domain: node.Host, Title: node.Name, Version: a.compatVersion(),
		SourceURL: sourceURL, Description: node.Summary, Languages: []string{"en"}, Rules: []none{}}
	j.Usage.Users.ActiveMonth = members
	j.Thumbnail.URL = a.thumbnail()
	j.Configuration.instanceConfig = postLimits()
	j.Registrations.ApprovalRequired = true
	writeJSON(w, http.StatusOK, j)
}

// compatVersion is the version in Mastodon's form, which clients parse.
func (a *API) compatVersion() string {
	return mastodonCompatVersion + " (compatible; Chapterhouse " + a.version + ")"
}

func (a *API) thumbnail() string { return a.publicURL + "/static/avatar.png" }

// instanceCounts counts active members and live local posts.
func (a *API) instanceCounts(ctx context.Context) (members, posts int, err error) {
	st := a.svc.Store()
	if members, err = st.CountMembers(ctx); err != nil {
		return 0, 0, fmt.Errorf("count members: %w", err)
	}
	if posts, err = st.CountPosts(ctx, 0); err != nil {
		return 0, 0, fmt.Errorf("count posts: %w", err)
	}
	return members, posts, nil
}

func postLimits() instanceConfig {
	var c instanceConfig
	c.Statuses.MaxCharacters = chapter.MaxPostLength
	c.Statuses.CharactersReservedPerURL = 23
	c.MediaAttachments.SupportedMIMETypes = []string{}
	c.Polls.MaxOptions = 0 // polls are not taken yet
	c.Polls.MaxCharactersPerOption = 50
	c.Polls.MinExpiration = 300
	c.Polls.MaxExpiration = 2629746
	return c
}
