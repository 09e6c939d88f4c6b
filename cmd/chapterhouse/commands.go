package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/config"
)

// newRootCommand builds the CLI. Every subcommand takes --config and the
// configuration flags, like serve.
func newRootCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var configPath string
	root := &cobra.Command{
		Use:           "chapterhouse",
		Short:         "A federated ActivityPub server for organizations made of local chapters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&configPath, "config", "", "YAML configuration file")
	config.BindFlags(root.PersistentFlags())
	load := func(cmd *cobra.Command) (*config.Config, error) {
		return config.Load(configPath, getenv, cmd.Flags())
	}
	root.AddCommand(
		serveCommand(load, stdout, stderr),
		memberCommand(load, stdout, stderr),
		tokenCommand(load, stdout, stderr),
		postCommand(load, stdout, stderr),
		childrenCommand(load, stdout, stderr),
		leaveCommand(load, stdout, stderr),
		configCommand(stdout),
		demoCommand(stdout, stderr), healthCommand(load, stdout),
	)
	return root
}

type loader func(cmd *cobra.Command) (*config.Config, error)

// withNode loads the configuration, opens the node, runs fn and closes it.
func withNode(cmd *cobra.Command, load loader, stderr io.Writer, fn func(ctx context.Context, n *node) error) error {
	cfg, err := load(cmd)
	if err != nil {
		return err
	}
	n, err := openNode(cmd.Context(), cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer n.Close()
	return fn(cmd.Context(), n)
}

func serveCommand(load loader, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the node: the website, the member API and federation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, stdout, stderr)
		},
	}
}

func memberCommand(load loader, stdout, stderr io.Writer) *cobra.Command {
	member := &cobra.Command{Use: "member", Short: "Manage members"}
	var admin bool
	add := &cobra.Command{
		Use:   "add NAME | @user@host",
		Short: "Add a local member, or approve a person on another server as a member",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				name := args[0]
				if strings.Contains(strings.TrimPrefix(name, "@"), "@") || strings.HasPrefix(name, "http") {
					a, err := n.svc.ApproveRemoteMember(ctx, name)
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "approved %s as a member (%s)\n", a.Acct(), a.ActorIRI)
					return nil
				}
				role := chapter.RoleMember
				if admin {
					role = chapter.RoleAdmin
				}
				a, err := n.svc.AddMember(ctx, name, role)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "added %s (@%s@%s, %s)\n", a.Username, a.Username, n.cfg.Host(), a.Role)
				return nil
			})
		},
	}
	add.Flags().BoolVar(&admin, "admin", false, "make the member an admin")
	list := &cobra.Command{
		Use:   "list",
		Short: "List active members",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "HANDLE\tROLE\tSTATE")
				for offset := 0; ; offset += 200 {
					page, err := n.db.Members(ctx, chapter.StateActive, 200, offset)
					if err != nil {
						return err
					}
					for _, a := range page {
						if a.Kind != chapter.KindGroup {
							fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Acct(), a.Role, a.State)
						}
					}
					if len(page) < 200 {
						return tw.Flush()
					}
				}
			})
		},
	}
	password := &cobra.Command{
		Use:   "password NAME",
		Short: "Set a member's website password, read from the first line of stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("read the password from stdin: %w", err)
			}
			pw := strings.TrimRight(line, "\r\n")
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				a, err := n.db.AccountByUsername(ctx, args[0])
				if err != nil {
					return fmt.Errorf("member %q: %w", args[0], err)
				}
				if err := n.svc.SetPassword(ctx, a.ID, pw); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "password set for %s\n", a.Username)
				return nil
			})
		},
	}
	approve := &cobra.Command{
		Use:   "approve NAME",
		Short: "Approve a pending application to join",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				a, err := n.db.AccountByUsername(ctx, args[0])
				if err != nil {
					return fmt.Errorf("applicant %q: %w", args[0], err)
				}
				if a.State != chapter.StatePending {
					return fmt.Errorf("%q has no pending application (%s): %w", a.Username, a.State, chapter.ErrConflict)
				}
				if _, err := n.svc.SetMemberState(ctx, a.ID, chapter.StateActive); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "approved %s\n", a.Username)
				return nil
			})
		},
	}
	member.AddCommand(add, list, password, approve)
	return member
}

func tokenCommand(load loader, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "token NAME",
		Short: "Print a new API bearer token for a member, alone on stdout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				token, err := n.svc.IssueToken(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(stdout, token)
				return nil
			})
		},
	}
}

func postCommand(load loader, stdout, stderr io.Writer) *cobra.Command {
	var as, visibility string
	var replyTo int64
	cmd := &cobra.Command{
		Use:   "post --as NAME TEXT",
		Short: "Publish a post as a member (delivered by the running node)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vis, err := chapter.ParseVisibility(visibility)
			if err != nil {
				return err
			}
			return withNode(cmd, load, stderr, func(ctx context.Context, n *node) error {
				author, err := n.db.AccountByUsername(ctx, as)
				if err != nil {
					return fmt.Errorf("member %q: %w", as, err)
				}
				p, err := n.svc.CreatePost(ctx, author.ID, chapter.NewPost{Text: strings.Join(args, " "),
					Visibility: vis, InReplyToID: replyTo})
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "posted %d: %s\n", p.ID, p.URL)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "the member who posts (required)")
	cmd.Flags().StringVar(&visibility, "visibility", "public", "public, unlisted, private or direct")
	cmd.Flags().Int64Var(&replyTo, "reply-to", 0, "id of the post this replies to")
	_ = cmd.MarkFlagRequired("as")
	return cmd
}

func configCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "List every configuration key with its default and environment variable",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tDEFAULT\tENVIRONMENT\tDESCRIPTION")
			for _, k := range config.Keys() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Key, k.Default, k.Env, k.Description)
			}
			return tw.Flush()
		},
	}
}
