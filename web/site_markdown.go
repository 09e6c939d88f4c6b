package web

import (
	"bytes"
	"html"
	"html/template"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// This file turns what members type into HTML for the website: Markdown
// for articles (goldmark), plain text for posts' previews. Both end in the
// site's sanitizer; neither trusts the other.

// newSiteMarkdown is the Markdown of articles: CommonMark with tables,
// strikethrough and bare links. Raw HTML is left out and links to
// javascript: and the like dropped (goldmark's safe default, kept: no
// WithUnsafe), and headings start at h3 so an article fits under the
// page's own h1 and h2.
func newSiteMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(headingShift{by: 2}, 500))),
	)
}

// renderMarkdown renders Markdown into sanitized HTML.
func (s *Site) renderMarkdown(src string) template.HTML {
	var buf bytes.Buffer
	if err := s.markdown.Convert([]byte(src), &buf); err != nil {
		// Converting to a buffer fails only on a renderer bug: show the
		// text rather than nothing.
		s.log.Error("markdown", "error", err)
		return plainHTML(src)
	}
	return template.HTML(s.sanitizer.Sanitize(buf.String())) // sanitized just now
}

// headingShift lowers every heading by a number of levels, at most to h6.
type headingShift struct{ by int }

// Transform is goldmark's parser.ASTTransformer hook.
func (h headingShift) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if hd, ok := n.(*ast.Heading); ok && entering {
			hd.Level = min(hd.Level+h.by, 6)
		}
		return ast.WalkContinue, nil
	})
}

// plainHTML shows plain text as chapter will publish it: escaped, with its
// paragraphs and line breaks (chapter also links addresses and mentions).
func plainHTML(src string) template.HTML {
	src = strings.ReplaceAll(strings.TrimSpace(src), "\r\n", "\n")
	var b strings.Builder
	for para := range strings.SplitSeq(src, "\n\n") {
		if para = strings.TrimSpace(para); para == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(html.EscapeString(line))
		}
		b.WriteString("</p>")
	}
	return template.HTML(b.String()) // every piece of text escaped above
}
