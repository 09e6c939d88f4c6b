package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file turns domain values into ActivityStreams. The vocabulary is
// built with go-fed's streams types; the handful of terms go-fed v1.0.0 does
// not know (endpoints, manuallyApprovesFollowers, sensitive) are added to the
// serialized map, and every document gets the same explicit @context that
// defines them, as Mastodon's does.

// publicIRI is the special collection meaning "everyone".
const publicIRI = "https://www.w3.org/ns/activitystreams#Public"

// asContext is the @context of every document we serve or send.
var asContext = []any{
	"https://www.w3.org/ns/activitystreams",
	"https://w3id.org/security/v1",
	map[string]any{
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"sensitive":                 "as:sensitive",
		"toot":                      "http://joinmastodon.org/ns#",
		"discoverable":              "toot:discoverable",
		"indexable":                 "toot:indexable",
		"chapterhouse":              "https://chapterhouse.example/ns#",
		"level":                     "chapterhouse:level",
		"parent":                    map[string]any{"@id": "chapterhouse:parent", "@type": "@id"},
		"children":                  map[string]any{"@id": "chapterhouse:children", "@type": "@id"},
		"via":                       map[string]any{"@id": "chapterhouse:via", "@type": "@id", "@container": "@list"},
	},
}

// parseIRI parses an IRI that we made or already validated. An unparsable
// one becomes an empty URL rather than a panic.
func parseIRI(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		return &url.URL{}
	}
	return u
}

func idProperty(iri string) vocab.JSONLDIdProperty {
	p := streams.NewJSONLDIdProperty()
	p.Set(parseIRI(iri))
	return p
}

// withID is any type with an id.
type withID interface{ SetJSONLDId(vocab.JSONLDIdProperty) }

func setID(t withID, iri string) { t.SetJSONLDId(idProperty(iri)) }

func actorProperty(iri string) vocab.ActivityStreamsActorProperty {
	p := streams.NewActivityStreamsActorProperty()
	p.AppendIRI(parseIRI(iri))
	return p
}

func objectIRI(iri string) vocab.ActivityStreamsObjectProperty {
	p := streams.NewActivityStreamsObjectProperty()
	p.AppendIRI(parseIRI(iri))
	return p
}

func objectType(t vocab.Type) vocab.ActivityStreamsObjectProperty {
	p := streams.NewActivityStreamsObjectProperty()
	_ = p.AppendType(t) // every type we build is an Object
	return p
}

func toProperty(iris []string) vocab.ActivityStreamsToProperty {
	p := streams.NewActivityStreamsToProperty()
	for _, i := range iris {
		p.AppendIRI(parseIRI(i))
	}
	return p
}

func ccProperty(iris []string) vocab.ActivityStreamsCcProperty {
	p := streams.NewActivityStreamsCcProperty()
	for _, i := range iris {
		p.AppendIRI(parseIRI(i))
	}
	return p
}

func publishedProperty(t time.Time) vocab.ActivityStreamsPublishedProperty {
	p := streams.NewActivityStreamsPublishedProperty()
	p.Set(t.UTC().Truncate(time.Second))
	return p
}

// addressing is who an activity goes to, in the to and cc fields.
type addressing struct{ to, cc []string }

// postAddressing follows Mastodon's mapping of visibility to to/cc.
func (f *Federation) postAddressing(p *chapter.Post) addressing {
	followers := f.urls.Followers(p.Author.Username)
	switch p.Visibility {
	case chapter.VisibilityUnlisted:
		return addressing{to: []string{followers}, cc: append([]string{publicIRI}, p.Mentions...)}
	case chapter.VisibilityFollowers:
		return addressing{to: []string{followers}, cc: p.Mentions}
	case chapter.VisibilityDirect:
		return addressing{to: p.Mentions}
	}
	return addressing{to: []string{publicIRI}, cc: append([]string{followers}, p.Mentions...)}
}

// noteFor builds the Note of a local post.
func (f *Federation) noteFor(ctx context.Context, p *chapter.Post) vocab.ActivityStreamsNote {
	n := streams.NewActivityStreamsNote()
	setID(n, p.IRI)
	addr := f.postAddressing(p)
	n.SetActivityStreamsTo(toProperty(addr.to))
	n.SetActivityStreamsCc(ccProperty(addr.cc))
	at := streams.NewActivityStreamsAttributedToProperty()
	at.AppendIRI(parseIRI(p.Author.ActorIRI))
	n.SetActivityStreamsAttributedTo(at)
	content := streams.NewActivityStreamsContentProperty()
	content.AppendXMLSchemaString(p.Content) // contentMap is added by decorateNote
	n.SetActivityStreamsContent(content)
	if p.Summary != "" {
		sum := streams.NewActivityStreamsSummaryProperty()
		sum.AppendXMLSchemaString(p.Summary)
		n.SetActivityStreamsSummary(sum)
	}
	n.SetActivityStreamsPublished(publishedProperty(p.CreatedAt))
	if p.UpdatedAt.After(p.CreatedAt.Add(time.Second)) {
		up := streams.NewActivityStreamsUpdatedProperty()
		up.Set(p.UpdatedAt.UTC().Truncate(time.Second))
		n.SetActivityStreamsUpdated(up)
	}
	urlp := streams.NewActivityStreamsUrlProperty()
	urlp.AppendIRI(parseIRI(p.URL))
	n.SetActivityStreamsUrl(urlp)
	if p.InReplyToIRI != "" {
		irt := streams.NewActivityStreamsInReplyToProperty()
		irt.AppendIRI(parseIRI(p.InReplyToIRI))
		n.SetActivityStreamsInReplyTo(irt)
	}
	if len(p.Mentions) > 0 {
		tags := streams.NewActivityStreamsTagProperty()
		for _, m := range p.Mentions {
			mention := streams.NewActivityStreamsMention()
			href := streams.NewActivityStreamsHrefProperty()
			href.Set(parseIRI(m))
			mention.SetActivityStreamsHref(href)
			if name := f.mentionName(ctx, m); name != "" {
				np := streams.NewActivityStreamsNameProperty()
				np.AppendXMLSchemaString(name)
				mention.SetActivityStreamsName(np)
			}
			tags.AppendActivityStreamsMention(mention)
		}
		n.SetActivityStreamsTag(tags)
	}
	return n
}

// mentionName is "@user@host" for a mentioned actor IRI we know.
func (f *Federation) mentionName(ctx context.Context, iri string) string {
	if name := f.urls.ParseLocalActor(iri); name != "" {
		return "@" + name + "@" + f.urls.Host()
	}
	if a, err := f.store.AccountByIRI(ctx, iri); err == nil {
		return "@" + a.Username + "@" + a.Host
	}
	return ""
}

// serialize turns a streams value into JSON-ready map with our @context,
// after extra() adds the terms go-fed does not model.
func serialize(t vocab.Type, extra func(m map[string]any)) (map[string]any, error) {
	m, err := streams.Serialize(t)
	if err != nil {
		return nil, fmt.Errorf("serialize %s: %w", t.GetTypeName(), err)
	}
	m["@context"] = asContext
	if extra != nil {
		extra(m)
	}
	return m, nil
}

// noteMap is a post's Note as served at its id and embedded in activities.
func (f *Federation) noteMap(ctx context.Context, p *chapter.Post) (map[string]any, error) {
	return serialize(f.noteFor(ctx, p), func(m map[string]any) { decorateNote(m, p) })
}

// decorateNote adds to a serialized Note what go-fed v1.0.0 cannot express
// the way Mastodon reads it: contentMap beside content (go-fed would put
// both in one array), and sensitive.
func decorateNote(m map[string]any, p *chapter.Post) {
	m["sensitive"] = p.Sensitive
	if p.Language != "" {
		m["contentMap"] = map[string]string{p.Language: p.Content}
	}
}

// marshal serializes an activity to the bytes we sign and send.
func marshal(t vocab.Type, extra func(m map[string]any)) ([]byte, error) {
	m, err := serialize(t, extra)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", t.GetTypeName(), err)
	}
	return b, nil
}

// tombstone is what a deleted post becomes.
func tombstone(iri string, deleted time.Time) vocab.ActivityStreamsTombstone {
	t := streams.NewActivityStreamsTombstone()
	setID(t, iri)
	if !deleted.IsZero() {
		d := streams.NewActivityStreamsDeletedProperty()
		d.Set(deleted.UTC().Truncate(time.Second))
		t.SetActivityStreamsDeleted(d)
	}
	return t
}

// followActivity rebuilds the Follow an Accept, Reject or Undo refers to.
func followActivity(id, follower, target string) vocab.ActivityStreamsFollow {
	fl := streams.NewActivityStreamsFollow()
	if id != "" {
		setID(fl, id)
	}
	fl.SetActivityStreamsActor(actorProperty(follower))
	fl.SetActivityStreamsObject(objectIRI(target))
	return fl
}
