// Package config is the one place Chapterhouse learns how it should run: the
// address it listens on, the public URL its actors live under, where it keeps
// its data, what kind of node it is in the federation (chapter, city,
// national, international) and the limits that protect it from remote
// servers.
//
// Settings come from four layers, each overriding the one before:
//
//  1. built-in defaults (see Default and Keys),
//  2. a YAML file named with --config,
//  3. environment variables CHAPTERHOUSE_<SECTION>_<KEY>, e.g.
//     CHAPTERHOUSE_NODE_HANDLE or CHAPTERHOUSE_FEDERATION_ALLOW_HTTP,
//  4. command-line flags that the user actually set (see BindFlags).
//
// Keys are dotted and lower-case (node.handle, federation.request_timeout);
// the YAML file nests them by section. An unknown key in the file is an error
// rather than being ignored, so a typo cannot silently leave a safety setting
// at its default. Environment values are plain strings: booleans are
// true/false/1/0, durations carry a unit ("90s", "72h") and lists are
// comma-separated. An empty environment variable counts as unset.
//
// Load merges the layers and then validates the result, so the rest of the
// program can trust every field of a *Config it is handed. The package keeps
// no global state: each Load uses its own viper instance and reads the
// environment only through the getenv function it is given, which lets tests
// run in parallel with their own environments.
package config
