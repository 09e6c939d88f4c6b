package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// cliWithInput runs a subcommand with stdin, as "member password" reads it.
func (n *testNode) cliWithInput(input string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	root := newRootCommand(noEnv, &out, &errOut)
	root.SetIn(strings.NewReader(input))
	root.SetArgs(append(args, "--config", n.config))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestMemberPasswordAndApprove(t *testing.T) {
	node := newTestNode(t, "")
	node.cli("member", "add", "admin", "--admin")
	if _, err := node.cliWithInput("short\n", "member", "password", "admin"); err == nil {
		t.Errorf("a 5-character password was accepted")
	}
	out, err := node.cliWithInput("a long enough password\n", "member", "password", "admin")
	if err != nil || !strings.Contains(out, "password set for admin") {
		t.Fatalf("member password: %q, %v", out, err)
	}
	if _, err := node.cliWithInput("", "member", "approve", "admin"); err == nil {
		t.Errorf("approving an active member succeeded")
	}
	if _, err := node.cliWithInput("x\n", "member", "password", "nobody"); err == nil {
		t.Errorf("setting the password of an unknown member succeeded")
	}
}
