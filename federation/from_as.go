package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"
	"github.com/microcosm-cc/bluemonday"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file turns what other servers send into domain values. Activities
// and objects go through go-fed's streams; actor documents are read with a
// tolerant decoder of their own, because go-fed v1.0.0 does not model the
// fields Mastodon relies on there (endpoints.sharedInbox,
// manuallyApprovesFollowers) and servers vary them the most.

// actorDoc is an actor (or key) document as servers publish it.
type actorDoc struct {
	ID                string `json:"id"`
	Type              any    `json:"type"`
	PreferredUsername string `json:"preferredUsername"`
	Name              any    `json:"name"`
	Summary           any    `json:"summary"`
	URL               any    `json:"url"`
	Icon              any    `json:"icon"`
	Inbox             string `json:"inbox"`
	SharedInbox       string `json:"sharedInbox"` // Misskey puts it at the top too
	Followers         any    `json:"followers"`
	Endpoints         any    `json:"endpoints"`
	Locked            any    `json:"manuallyApprovesFollowers"`
	Level             string `json:"level"`        // Chapterhouse: the node's place in the tree
	Parent            any    `json:"parent"`       // Chapterhouse: the parent node's Group
	Owner             string `json:"owner"`        // key documents
	PublicKeyPem      string `json:"publicKeyPem"` // key documents
	PublicKey         struct {
		ID           string `json:"id"`
		Owner        string `json:"owner"`
		PublicKeyPem string `json:"publicKeyPem"`
	} `json:"-"`
	RawPublicKey json.RawMessage `json:"publicKey"`
}

// parseActorDoc decodes an actor or key document.
func parseActorDoc(body []byte, maxDepth int) (*actorDoc, error) {
	if err := CheckJSONDepth(body, maxDepth); err != nil {
		return nil, err
	}
	var d actorDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("%v: %w", err, errMalformed)
	}
	if len(d.RawPublicKey) > 0 {
		// publicKey is an object, or an array of them (some servers list several).
		var one struct {
			ID           string `json:"id"`
			Owner        string `json:"owner"`
			PublicKeyPem string `json:"publicKeyPem"`
		}
		var many []json.RawMessage
		raw := d.RawPublicKey
		if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
			raw = many[0]
		}
		if err := json.Unmarshal(raw, &one); err == nil {
			d.PublicKey = one
		}
	}
	if d.PublicKey.PublicKeyPem == "" && d.PublicKeyPem != "" {
		// A bare key document: its own id is the key id.
		d.PublicKey.ID, d.PublicKey.Owner, d.PublicKey.PublicKeyPem = d.ID, d.Owner, d.PublicKeyPem
	}
	if d.ID == "" {
		return nil, fmt.Errorf("document without id: %w", errMalformed)
	}
	return &d, nil
}

// account turns an actor document fetched from iri into an account.
func (d *actorDoc) account(iri string) (*chapter.Account, error) {
	if d.ID != iri {
		// Mastodon refuses documents whose id differs from where they
		// were fetched: someone else's server could otherwise claim it.
		return nil, fmt.Errorf("actor fetched from %q claims id %q: %w", iri, d.ID, errNotActor)
	}
	if d.Inbox == "" || d.PublicKey.PublicKeyPem == "" {
		return nil, fmt.Errorf("actor %q lacks an inbox or a public key: %w", iri, errNotActor)
	}
	if _, err := ParsePublicKeyPEM(d.PublicKey.PublicKeyPem); err != nil {
		return nil, fmt.Errorf("actor %q: %w", iri, err)
	}
	u, err := url.Parse(iri)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("actor %q: %w", iri, errMalformed)
	}
	username := d.PreferredUsername
	if username == "" {
		username = lastPathSegment(u.Path)
	}
	a := &chapter.Account{
		Username: username, Host: strings.ToLower(u.Host), Kind: actorKind(typeName(d.Type)),
		DisplayName: firstString(d.Name), Bio: sanitizeHTML(firstString(d.Summary)),
		ActorIRI: d.ID, InboxIRI: d.Inbox, SharedInboxIRI: d.SharedInbox, FollowersIRI: stringOrID(d.Followers),
		URL: firstLink(d.URL), AvatarURL: firstLink(d.Icon), PublicKeyID: d.PublicKey.ID,
		PublicKeyPEM: d.PublicKey.PublicKeyPem,
	}
	if ep, ok := d.Endpoints.(map[string]any); ok {
		if s, ok := ep["sharedInbox"].(string); ok && s != "" {
			a.SharedInboxIRI = s
		}
	}
	a.Locked, _ = d.Locked.(bool)
	if a.Kind == chapter.KindGroup && chapter.Level(d.Level).Rank() > 0 {
		a.Level, a.ParentIRI = chapter.Level(d.Level), stringOrID(d.Parent)
	}
	if a.DisplayName == "" {
		a.DisplayName = a.Username
	}
	return a, nil
}

func actorKind(t string) chapter.Kind {
	switch t {
	case "Group", "Organization":
		return chapter.KindGroup
	case "Service", "Application":
		return chapter.KindService
	}
	return chapter.KindPerson
}

func lastPathSegment(p string) string {
	p = strings.TrimRight(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// firstString reads a string, or the first string of an array.
func firstString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				return s
			}
		}
	}
	return ""
}

// firstLink reads a URL given as a string, a Link/Image object with url or
// href, or an array of those (PeerTube sends arrays).
func firstLink(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		for _, k := range []string{"href", "url"} {
			if s := firstLink(x[k]); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range x {
			if s := firstLink(e); s != "" {
				return s
			}
		}
	}
	return ""
}

// sanitizer keeps the markup Mastodon federates (paragraphs, links,
// mentions and hashtags with their classes) and drops everything else:
// scripts, styles, event handlers, iframes.
func newSanitizer() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("a", "span")
	p.AllowAttrs("translate").OnElements("span")
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// sanitizerPolicy is built once on first use; like a compiled regexp it is
// read-only afterwards and bluemonday policies are safe for concurrent use.
var sanitizerPolicy = sync.OnceValue(newSanitizer)

// sanitizeHTML cleans remote HTML before it is stored.
func sanitizeHTML(s string) string {
	if s == "" {
		return ""
	}
	return sanitizerPolicy().Sanitize(s)
}

// parseActivity decodes an activity with go-fed's streams. Documents without
// @context (Lemmy's test fixtures, some relays) are read as ActivityStreams.
func parseActivity(ctx context.Context, body []byte) (vocab.Type, map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, nil, fmt.Errorf("%v: %w", err, errMalformed)
	}
	t, err := toType(ctx, m)
	return t, m, err
}

func toType(ctx context.Context, m map[string]any) (vocab.Type, error) {
	if _, ok := m["@context"]; !ok {
		m["@context"] = "https://www.w3.org/ns/activitystreams"
	}
	t, err := streams.ToType(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("type %q: %w", typeName(m["type"]), err)
	}
	return t, nil
}

// postObject is what Note, Article, Page, Question and Event share, read
// through tiny interfaces over go-fed's getters so one helper serves all.
type postObject interface {
	vocab.Type
	GetActivityStreamsAttributedTo() vocab.ActivityStreamsAttributedToProperty
	GetActivityStreamsContent() vocab.ActivityStreamsContentProperty
	GetActivityStreamsSummary() vocab.ActivityStreamsSummaryProperty
	GetActivityStreamsName() vocab.ActivityStreamsNameProperty
	GetActivityStreamsInReplyTo() vocab.ActivityStreamsInReplyToProperty
	GetActivityStreamsPublished() vocab.ActivityStreamsPublishedProperty
	GetActivityStreamsUrl() vocab.ActivityStreamsUrlProperty
	GetActivityStreamsTag() vocab.ActivityStreamsTagProperty
	GetActivityStreamsTo() vocab.ActivityStreamsToProperty
	GetActivityStreamsCc() vocab.ActivityStreamsCcProperty
}

// postTypes are the objects shown as posts. Videos, Events and the like
// are not: their servers render them better than a Note would.
var postTypes = map[string]bool{"Note": true, "Article": true, "Page": true, "Question": true}

// asPost returns t as a post when it is a kind of post we show.
func asPost(t vocab.Type) (postObject, bool) {
	if t == nil || !postTypes[t.GetTypeName()] {
		return nil, false
	}
	o, ok := t.(postObject)
	return o, ok
}

// asMap is a JSON object, or nil.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// iriOf reads the IRI of a property value that is an IRI or an object.
type iriOrType interface {
	IsIRI() bool
	GetIRI() *url.URL
	GetType() vocab.Type
}

func iriOf(v iriOrType) string {
	if v == nil {
		return ""
	}
	if v.IsIRI() {
		return v.GetIRI().String()
	}
	if t := v.GetType(); t != nil {
		if id := t.GetJSONLDId(); id != nil && id.Get() != nil {
			return id.Get().String()
		}
	}
	return ""
}

// postFromObject converts a remote Note (or Article, Page, Question…) into
// a post: content sanitized, visibility derived from addressing as Mastodon
// does, mentions read from tags (not from the HTML, which may disagree).
func postFromObject(o postObject, raw map[string]any) (*chapter.Post, []string, error) {
	id := o.GetJSONLDId()
	if id == nil || id.Get() == nil {
		return nil, nil, fmt.Errorf("%s without id: %w", o.GetTypeName(), errMalformed)
	}
	p := &chapter.Post{IRI: id.Get().String(), Visibility: chapter.VisibilityDirect}
	content, lang := "", ""
	if c := o.GetActivityStreamsContent(); c != nil {
		for it := c.Begin(); it != c.End(); it = it.Next() {
			if it.IsXMLSchemaString() && content == "" {
				content = it.GetXMLSchemaString()
			} else if it.IsRDFLangString() {
				for l, v := range it.GetRDFLangString() {
					if lang == "" || content == "" {
						lang = l
						if content == "" {
							content = v
						}
					}
				}
			}
		}
	}
	if name := o.GetActivityStreamsName(); name != nil && name.Len() > 0 && name.At(0).IsXMLSchemaString() &&
		o.GetTypeName() != "Note" {
		// Titles of Articles and Lemmy Pages lead the content.
		content = "<p><strong>" + escapeText(name.At(0).GetXMLSchemaString()) + "</strong></p>" + content
	}
	// go-fed v1.0.0 drops contentMap when content is present: read it from
	// the document itself.
	if cm, ok := raw["contentMap"].(map[string]any); ok && len(cm) > 0 {
		langs := make([]string, 0, len(cm))
		for l := range cm {
			langs = append(langs, l)
		}
		slices.Sort(langs)
		lang = langs[0]
		for _, l := range langs {
			if v, _ := cm[l].(string); v == content {
				lang = l
				break
			}
		}
		if content == "" {
			content, _ = cm[lang].(string)
		}
	}
	p.Content = sanitizeHTML(content)
	p.Language = lang
	if s := o.GetActivityStreamsSummary(); s != nil && s.Len() > 0 && s.At(0).IsXMLSchemaString() {
		p.Summary = bluemonday.StrictPolicy().Sanitize(s.At(0).GetXMLSchemaString())
	}
	if sensitive, ok := raw["sensitive"].(bool); ok {
		p.Sensitive = sensitive
	}
	p.Sensitive = p.Sensitive || p.Summary != ""
	if irt := o.GetActivityStreamsInReplyTo(); irt != nil && irt.Len() > 0 {
		p.InReplyToIRI = iriOf(irt.At(0))
	}
	if pub := o.GetActivityStreamsPublished(); pub != nil && pub.IsXMLSchemaDateTime() {
		p.CreatedAt = pub.Get().UTC()
	}
	if u := o.GetActivityStreamsUrl(); u != nil && u.Len() > 0 {
		if it := u.At(0); it.IsIRI() {
			p.URL = it.GetIRI().String()
		} else if it.IsActivityStreamsLink() {
			if href := it.GetActivityStreamsLink().GetActivityStreamsHref(); href != nil && href.Get() != nil {
				p.URL = href.Get().String()
			}
		}
	}
	if p.URL == "" {
		p.URL = p.IRI
	}
	if tags := o.GetActivityStreamsTag(); tags != nil {
		for it := tags.Begin(); it != tags.End(); it = it.Next() {
			if it.IsActivityStreamsMention() {
				if href := it.GetActivityStreamsMention().GetActivityStreamsHref(); href != nil && href.Get() != nil {
					p.Mentions = append(p.Mentions, href.Get().String())
				}
			}
		}
	}
	var audience []string
	if to := o.GetActivityStreamsTo(); to != nil {
		for it := to.Begin(); it != to.End(); it = it.Next() {
			audience = append(audience, iriOf(it))
		}
	}
	toCount := len(audience)
	if cc := o.GetActivityStreamsCc(); cc != nil {
		for it := cc.Begin(); it != cc.End(); it = it.Next() {
			audience = append(audience, iriOf(it))
		}
	}
	for i, a := range audience {
		if isPublic(a) {
			if i < toCount {
				p.Visibility = chapter.VisibilityPublic
			} else if p.Visibility != chapter.VisibilityPublic {
				p.Visibility = chapter.VisibilityUnlisted
			}
		} else if strings.HasSuffix(a, "/followers") && p.Visibility == chapter.VisibilityDirect {
			p.Visibility = chapter.VisibilityFollowers
		}
	}
	return p, audience, nil
}

// attributedTo is the author IRI of an object.
func attributedTo(o postObject) string {
	if at := o.GetActivityStreamsAttributedTo(); at != nil && at.Len() > 0 {
		return iriOf(at.At(0))
	}
	return ""
}

func isPublic(iri string) bool {
	return iri == publicIRI || iri == "as:Public" || iri == "Public"
}

func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

// clampTime keeps remote timestamps from the future out of ordering.
func clampTime(t, now time.Time) time.Time {
	if t.IsZero() || t.After(now) {
		return now
	}
	return t
}
