// Command chapterhouse-load measures a running node's inbox from another
// process, as a busy remote server would load it: it plays a remote
// instance (an actor with a key, served on loopback so the node can fetch
// it), signs N distinct activities Mastodon-style before the clock starts,
// then sends them over C connections and reports accepted requests per
// second and latency percentiles.
//
//	go run ./cmd/chapterhouse serve --config node.yaml   # with federation.allow_http,
//	                                                     # allow_private_networks and a
//	                                                     # high inbox_rate_limit
//	go run ./cmd/chapterhouse-load -inbox http://127.0.0.1:8080/inbox -n 20000 -c 32
//
// It is a measuring tool for loopback nodes, never pointed at other
// people's servers.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chapterhouse-load:", err)
		os.Exit(1)
	}
}

// signed is one ready request.
type signed struct {
	body    []byte
	headers http.Header
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chapterhouse-load", flag.ContinueOnError)
	inbox := fs.String("inbox", "http://127.0.0.1:8080/inbox", "the node's inbox URL")
	n := fs.Int("n", 10000, "activities to send")
	c := fs.Int("c", 32, "concurrent connections")
	if err := fs.Parse(args); err != nil {
		return err
	}
	target, err := url.Parse(*inbox)
	if err != nil || target.Host == "" {
		return fmt.Errorf("inbox %q: not a URL", *inbox)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	actor, stop, err := serveActor(key)
	if err != nil {
		return err
	}
	defer stop()

	fmt.Fprintf(out, "signing %d activities as %s ...\n", *n, actor)
	reqs := make([]signed, *n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < *n; i = int(next.Add(1)) - 1 {
				reqs[i] = sign(key, actor, target, i)
			}
		}()
	}
	wg.Wait()

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *c, MaxConnsPerHost: *c}}
	// One request first, so the node fetches and caches our key.
	if code, err := send(client, *inbox, sign(key, actor, target, -1)); err != nil || code != http.StatusAccepted {
		return fmt.Errorf("warm-up request: status %d, %v", code, err)
	}
	latencies := make([]time.Duration, *n)
	var failed atomic.Int64
	next.Store(0)
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < *n; i = int(next.Add(1)) - 1 {
				t0 := time.Now()
				code, err := send(client, *inbox, reqs[i])
				latencies[i] = time.Since(t0)
				if err != nil || code != http.StatusAccepted {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	fmt.Fprintf(out, "%d signed inbox POSTs in %s: %.0f accepted/s, %d refused or failed\n",
		*n, elapsed.Round(time.Millisecond), float64(int64(*n)-failed.Load())/elapsed.Seconds(), failed.Load())
	fmt.Fprintf(out, "latency p50 %s, p99 %s\n", pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
	return nil
}

// serveActor publishes the load's actor document on loopback.
func serveActor(key *rsa.PrivateKey) (actor string, stop func(), err error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", nil, err
	}
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	actor = "http://" + ln.Addr().String() + "/users/load"
	doc, _ := json.Marshal(map[string]any{
		"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":       actor, "type": "Service", "preferredUsername": "load", "inbox": actor + "/inbox",
		"publicKey": map[string]string{"id": actor + "#main-key", "owner": actor, "publicKeyPem": pubPEM},
	})
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/users/load" {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		_, _ = w.Write(doc)
	})}
	go func() { _ = srv.Serve(ln) }()
	return actor, func() { _ = srv.Shutdown(context.Background()) }, nil
}

// sign builds a distinct Like signed as Mastodon signs: (request-target)
// host date digest, rsa-sha256.
func sign(key *rsa.PrivateKey, actor string, target *url.URL, i int) signed {
	body, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": fmt.Sprintf("%s#likes/%d-%d", actor, time.Now().UnixNano(), i), "type": "Like", "actor": actor,
		"object": target.Scheme + "://" + target.Host + "/users/nobody/statuses/1"})
	sum := sha256.Sum256(body)
	digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
	date := time.Now().UTC().Format(http.TimeFormat)
	signing := strings.Join([]string{
		"(request-target): post " + target.RequestURI(), "host: " + target.Host, "date: " + date, "digest: " + digest}, "\n")
	h := sha256.Sum256([]byte(signing))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	headers := http.Header{}
	headers.Set("Content-Type", "application/activity+json")
	headers.Set("Date", date)
	headers.Set("Digest", digest)
	headers.Set("Signature", fmt.Sprintf(`keyId="%s#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="%s"`,
		actor, base64.StdEncoding.EncodeToString(sig)))
	return signed{body: body, headers: headers}
}

func send(client *http.Client, inbox string, s signed) (int, error) {
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(s.body))
	if err != nil {
		return 0, err
	}
	req.Header = s.headers.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
