package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// childrenCommand lists and manages the member chapters (child nodes).
func childrenCommand(load loader, stdout, stderr io.Writer) *cobra.Command {
	children := &cobra.Command{
		Use:   "children",
		Short: "List pending and linked child nodes with their level and last activity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				links, err := n.svc.Children(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ACTOR\tHANDLE\tLEVEL\tSTATE\tLAST ACTIVITY")
				for _, l := range links {
					last := "-"
					if !l.LastActivityAt.IsZero() {
						last = l.LastActivityAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t@%s\t%s\t%s\t%s\n", l.Account.ActorIRI, l.Account.Acct(), l.Account.Level, l.State, last)
				}
				return tw.Flush()
			})
		},
	}
	approve := &cobra.Command{
		Use:   "approve ACTOR",
		Short: "Link a pending child node (actor URL or @handle@host)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				l, err := n.svc.ApproveChild(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "linked %s (%s)\n", l.Account.ActorIRI, l.Account.Level)
				return nil
			})
		},
	}
	detach := &cobra.Command{
		Use:   "detach ACTOR",
		Short: "End a child node's membership: nothing is relayed either way any more",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				if err := n.svc.DetachChild(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "detached %s\n", args[0])
				return nil
			})
		},
	}
	children.AddCommand(approve, detach)
	return children
}

// leaveCommand makes this node leave its parent.
func leaveCommand(load loader, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "leave",
		Short: "Leave the parent node (clear node.parent too, or the next start links again)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				if err := n.svc.LeaveParent(ctx); err != nil {
					return err
				}
				fmt.Fprintln(stdout, "left the parent node")
				return nil
			})
		},
	}
}
