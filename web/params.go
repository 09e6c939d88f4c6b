package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// params are a request's parameters by name, read the way Mastodon (Rails)
// reads them: the query string, overridden by the body, which may be JSON,
// a urlencoded form or a multipart form. Clients differ: Tusky sends forms,
// most web clients JSON, and some send numbers and booleans as strings.
type params map[string]string

var errUnsupportedMediaType = &clientError{status: http.StatusUnsupportedMediaType,
	msg: "Unsupported media type: send application/json, application/x-www-form-urlencoded or multipart/form-data"}

// readParams reads the parameters of a POST or PATCH, with the body capped
// at the API's limit.
func (a *API) readParams(w http.ResponseWriter, r *http.Request) (params, error) {
	p := params{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	if r.ContentLength > a.maxBody {
		return nil, &http.MaxBytesError{Limit: a.maxBody}
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		// A request with everything in the query string, as curl users do.
		if r.ContentLength == 0 {
			return p, nil
		}
		return nil, errUnsupportedMediaType
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, errUnsupportedMediaType
	}
	switch mediaType {
	case "application/json":
		return p, readJSONParams(r.Body, p)
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, bodyError(err)
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(a.maxBody); err != nil {
			return nil, bodyError(err)
		}
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	default:
		return nil, errUnsupportedMediaType
	}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	return p, nil
}

// bodyError keeps "too large" recognisable and makes any other failure to
// read a body a 400.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	return &clientError{status: http.StatusBadRequest, msg: "The request body could not be read", err: err}
}

// readJSONParams reads a JSON object's top-level members into p: strings as
// they are, numbers and booleans as their text, null as absent. Arrays and
// objects (media_ids, poll) are not used by this API and are skipped.
func readJSONParams(body io.Reader, p params) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		return bodyError(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return &clientError{status: http.StatusBadRequest, msg: "The request body is not a JSON object", err: err}
	}
	for k, v := range obj {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0, string(v) == "null", v[0] == '[', v[0] == '{':
			continue
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return &clientError{status: http.StatusBadRequest, msg: "The request body is not valid JSON", err: err}
			}
			p[k] = s
		default: // a number, true or false: keep its text
			p[k] = string(v)
		}
	}
	return nil
}

// id reads an optional id parameter ("" is 0).
func (p params) id(name string) (int64, error) {
	s := strings.TrimSpace(p[name])
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, badRequest("%s must be an id", name)
	}
	return n, nil
}

// bool reads an optional boolean the ways clients send one.
func (p params) bool(name string) (bool, error) {
	b, ok := parseBool(p[name])
	if !ok {
		return false, badRequest("%s must be true or false", name)
	}
	return b, nil
}

// parseBool accepts Rails' spellings of booleans; "" is false.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "f", "off", "no":
		return false, true
	case "1", "true", "t", "on", "yes":
		return true, true
	}
	return false, false
}
