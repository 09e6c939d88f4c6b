package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// keyCache keeps parsed private keys: parsing PEM on every signature would
// cost more than the signature itself.
type keyCache struct {
	mu sync.RWMutex
	m  map[int64]*rsa.PrivateKey
}

func (c *keyCache) get(id int64) *rsa.PrivateKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[id]
}

func (c *keyCache) put(id int64, k *rsa.PrivateKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[id] = k
}

// privateKey returns a local account's signing key, generating it now if
// the background worker has not reached the account yet.
func (f *Federation) privateKey(ctx context.Context, accountID int64) (*rsa.PrivateKey, error) {
	if k := f.keys.get(accountID); k != nil {
		return k, nil
	}
	pemText, err := f.store.PrivateKey(ctx, accountID)
	if errors.Is(err, chapter.ErrNotFound) {
		if pemText, err = f.generateKey(ctx, accountID); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("private key of account %d: %w", accountID, err)
	}
	k, err := ParsePrivateKeyPEM(pemText)
	if err != nil {
		return nil, fmt.Errorf("private key of account %d: %w", accountID, err)
	}
	f.keys.put(accountID, k)
	return k, nil
}

// publicKeyPEM returns a local account's public key, generating the pair
// if needed (an actor document must always carry a key).
func (f *Federation) publicKeyPEM(ctx context.Context, a *chapter.Account) (string, error) {
	if a.PublicKeyPEM != "" {
		return a.PublicKeyPEM, nil
	}
	if _, err := f.privateKey(ctx, a.ID); err != nil {
		return "", err
	}
	fresh, err := f.store.Account(ctx, a.ID)
	if err != nil {
		return "", fmt.Errorf("account %d: %w", a.ID, err)
	}
	return fresh.PublicKeyPEM, nil
}

// generateKey makes and stores a key pair for an account, once: a second
// caller waiting on the lock finds the key already there.
func (f *Federation) generateKey(ctx context.Context, accountID int64) (string, error) {
	f.keyGen.Lock()
	defer f.keyGen.Unlock()
	if pemText, err := f.store.PrivateKey(ctx, accountID); err == nil {
		return pemText, nil
	}
	priv, pub, err := GenerateKeyPEM()
	if err != nil {
		return "", fmt.Errorf("generate key for account %d: %w", accountID, err)
	}
	if err := f.store.SetKey(ctx, accountID, priv, pub); err != nil {
		return "", fmt.Errorf("store key for account %d: %w", accountID, err)
	}
	f.docs.invalidate()
	return priv, nil
}

// keyGenPause is the rest between two background key generations (each
// ~45 ms of CPU): the worker takes at most about half a core.
const keyGenPause = 50 * time.Millisecond

// keyWorker generates keys for new accounts in the background, so that
// adding members (one at a time or ten thousand) never waits on RSA.
func (f *Federation) keyWorker(ctx context.Context) {
	for {
		ids, err := f.store.AccountsWithoutKey(ctx, 50)
		if err != nil && ctx.Err() == nil {
			f.log.Warn("list accounts without keys", "error", err)
		}
		for _, id := range ids {
			if _, err := f.generateKey(ctx, id); err != nil && ctx.Err() == nil {
				f.log.Warn("generate key", "account_id", id, "error", err)
			}
			// Leave the CPU to requests: after an import of thousands of
			// members this runs for minutes, and a key that is needed
			// sooner is made inline anyway.
			select {
			case <-ctx.Done():
				return
			case <-time.After(keyGenPause):
			}
		}
		wait := 5 * time.Second
		if len(ids) > 0 && err == nil {
			wait = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
