// Package huawei is the Huawei Cloud KPS key-pair registry (v3) over the official SDK
// github.com/huaweicloud/huaweicloud-sdk-go-v3 (services/kps/v3): ListKeypairs (paged by
// marker) with ListKeypairDetail for the description that marks what accessctl imported,
// CreateKeypair with a public key (an import; KPS private-key hosting is never used), the
// associate/disassociate tasks polled with bounded backoff, and DeleteKeypair.
//
// KPS itself does not list which servers hold a key pair; a server's key pair is its key_name
// in the ECS API, so bindings are read with ListServersDetails of services/ecs/v2 from the
// same SDK module (same credentials; with an endpoint override, the same endpoint).
package huawei

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/provider"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	hecs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/ecs/v2"
	ecsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/ecs/v2/model"
	ecsregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/ecs/v2/region"
	kps "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"
	kpsregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/region"

	"github.com/accessctl/accessctl/internal/cloud"
)

const (
	keypairPage = "50"
	serverPage  = 100
)

// Registry is one region's KPS key pairs.
type Registry struct {
	cfg  cloud.Config
	kps  *kps.KpsClient
	ecs  *hecs.EcsClient
	poll cloud.Backoff
	// records are the servers accessctl bound each key pair it imported to, as written in the
	// key pair's description ("managed-by=accessctl servers=a,b"), read by List. They stand in
	// for the server list when the endpoint does not serve it (State.InstancesUnknown).
	records map[string][]string
}

// New opens the registry. Credentials come from the SDK's default chain
// (HUAWEICLOUD_SDK_AK/SK[/PROJECT_ID], ~/.huaweicloud/credentials, instance metadata); the
// manifest's project overrides the chain's project id. With an endpoint override a project id
// is required (the SDK would otherwise ask IAM for it).
func New(cfg cloud.Config) (*Registry, error) {
	cred, err := provider.BasicCredentialProviderChain().GetCredentials()
	if err != nil {
		return nil, fmt.Errorf("huawei cloud credentials: %w", scrub(err))
	}
	if b, ok := cred.(*auth.BasicCredentials); ok && cfg.Project != "" {
		b.ProjectId = cfg.Project
	}
	r := &Registry{cfg: cfg, poll: cloud.Backoff{Attempts: 30, First: 200 * time.Millisecond, Max: 5 * time.Second}}
	if cfg.Endpoint != "" {
		if b, ok := cred.(*auth.BasicCredentials); ok && b.ProjectId == "" {
			return nil, fmt.Errorf("a project id is needed with an endpoint override: set the registry's project or HUAWEICLOUD_SDK_PROJECT_ID")
		}
		eps := []string{strings.TrimRight(cfg.Endpoint, "/")}
		kc, err := kps.KpsClientBuilder().WithEndpoints(eps).WithCredential(cred).SafeBuild()
		if err != nil {
			return nil, fmt.Errorf("kps client: %w", scrub(err))
		}
		ec, err := hecs.EcsClientBuilder().WithEndpoints([]string{strings.TrimRight(cfg.Endpoint, "/")}).WithCredential(cred).SafeBuild()
		if err != nil {
			return nil, fmt.Errorf("ecs client: %w", scrub(err))
		}
		r.kps, r.ecs = kps.NewKpsClient(kc), hecs.NewEcsClient(ec)
		return r, nil
	}
	kr, err := kpsregion.SafeValueOf(cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("kps region %q: %w", cfg.Region, err)
	}
	er, err := ecsregion.SafeValueOf(cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("ecs region %q: %w", cfg.Region, err)
	}
	kc, err := kps.KpsClientBuilder().WithRegion(kr).WithCredential(cred).SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("kps client: %w", scrub(err))
	}
	ec, err := hecs.EcsClientBuilder().WithRegion(er).WithCredential(cred).SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("ecs client: %w", scrub(err))
	}
	r.kps, r.ecs = kps.NewKpsClient(kc), hecs.NewEcsClient(ec)
	return r, nil
}

// SetPoll changes how task polling backs off (tests).
func (r *Registry) SetPoll(b cloud.Backoff) { r.poll = b }

// List reads all key pairs, the description of each (accessctl's marker), and the servers'
// key pairs and OS types.
func (r *Registry) List(ctx context.Context) (*cloud.State, error) {
	st := &cloud.State{KeyPairs: []cloud.KeyPair{}, Bindings: []cloud.Binding{}}
	r.records = map[string][]string{}
	seen := map[string]bool{} // an endpoint that ignores the marker must not loop
	marker := ""
	for page := 0; page < 1000; page++ {
		req := &model.ListKeypairsRequest{Limit: str(keypairPage)}
		if marker != "" {
			req.Marker = str(marker)
		}
		var resp *model.ListKeypairsResponse
		if err := r.retry(ctx, func() (err error) { resp, err = r.kps.ListKeypairs(req); return err }); err != nil {
			return nil, fmt.Errorf("list key pairs: %w", err)
		}
		n := 0
		if resp.Keypairs != nil {
			for _, item := range *resp.Keypairs {
				if item.Keypair == nil || item.Keypair.Name == nil || seen[*item.Keypair.Name] {
					continue
				}
				seen[*item.Keypair.Name] = true
				n++
				k := item.Keypair
				st.KeyPairs = append(st.KeyPairs, cloud.KeyPair{Name: *k.Name, PublicKey: strings.TrimSpace(val(k.PublicKey)), Fingerprint: val(k.Fingerprint)})
			}
		}
		next := ""
		if resp.PageInfo != nil {
			next = val(resp.PageInfo.NextMarker)
		}
		if n == 0 || next == "" || next == marker {
			break
		}
		marker = next
	}
	for i := range st.KeyPairs {
		k := &st.KeyPairs[i]
		var resp *model.ListKeypairDetailResponse
		err := r.retry(ctx, func() (err error) {
			resp, err = r.kps.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: k.Name})
			return err
		})
		if err != nil {
			if notServed(err) || Code(err) == "KPS.4016" {
				continue // no detail here (or gone since the list): not known to be accessctl's
			}
			return nil, fmt.Errorf("read key pair %s: %w", k.Name, err)
		}
		if resp.Keypair != nil {
			if servers, ok := parseRecord(val(resp.Keypair.Description)); ok {
				k.ImportedByAccessctl = true
				r.records[k.Name] = servers
			}
		}
	}
	bindings, err := r.listServers(ctx)
	switch {
	case err == nil:
		st.Bindings = bindings
	case notServed(err):
		st.InstancesUnknown = true
		for _, k := range st.KeyPairs {
			for _, s := range r.records[k.Name] {
				st.Bindings = append(st.Bindings, cloud.Binding{Instance: s, Keypair: k.Name})
			}
		}
	default:
		return nil, err
	}
	return st, nil
}

// listServers reads every server's key pair and OS type (ECS ListServersDetails).
func (r *Registry) listServers(ctx context.Context) ([]cloud.Binding, error) {
	out := []cloud.Binding{}
	seen := map[string]bool{}
	for offset := int32(1); offset < 10000; offset++ {
		var resp *ecsmodel.ListServersDetailsResponse
		err := r.retry(ctx, func() (err error) {
			limit, off := int32(serverPage), offset
			resp, err = r.ecs.ListServersDetails(&ecsmodel.ListServersDetailsRequest{Limit: &limit, Offset: &off})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list servers (their key pairs are the bindings): %w", err)
		}
		n := 0
		if resp.Servers != nil {
			for _, s := range *resp.Servers {
				if seen[s.Id] {
					continue
				}
				seen[s.Id] = true
				n++
				out = append(out, cloud.Binding{Instance: s.Id, Keypair: s.KeyName, OS: strings.ToLower(s.Metadata["os_type"])})
			}
		}
		if n < serverPage || (resp.Count != nil && int32(len(out)) >= *resp.Count) {
			break
		}
	}
	return out, nil
}

// notServed: the endpoint answered 404 to a list (or a detail just listed), i.e. it does not
// serve that API (a private endpoint, or a test double for KPS alone).
func notServed(err error) bool {
	var ce *codeError
	return errors.As(err, &ce) && ce.status == http.StatusNotFound
}

// parseRecord reads accessctl's description: the marker, then optionally " servers=a,b".
func parseRecord(desc string) ([]string, bool) {
	rest, ok := strings.CutPrefix(desc, cloud.MarkerDescription)
	if !ok || (rest != "" && !strings.HasPrefix(rest, " ")) {
		return nil, false
	}
	var servers []string
	for _, f := range strings.Fields(rest) {
		if v, ok := strings.CutPrefix(f, "servers="); ok {
			for _, s := range strings.Split(v, ",") {
				if s != "" {
					servers = append(servers, s)
				}
			}
		}
	}
	return servers, true
}

func formatRecord(servers []string) string {
	if len(servers) == 0 {
		return cloud.MarkerDescription
	}
	return cloud.MarkerDescription + " servers=" + strings.Join(servers, ",")
}

// record rewrites the description of a key pair accessctl imported after a bind or unbind, so
// its bindings are known where the server list is not served. Key pairs accessctl did not
// import are left alone (their description is the owner's).
func (r *Registry) record(ctx context.Context, keypair, server string, bound bool) error {
	if r.records == nil {
		r.records = map[string][]string{}
	}
	update := func(name string, servers []string) error {
		r.records[name] = servers
		return r.retry(ctx, func() error {
			_, err := r.kps.UpdateKeypairDescription(&model.UpdateKeypairDescriptionRequest{KeypairName: name,
				Body: &model.UpdateKeypairDescriptionRequestBody{Keypair: &model.UpdateKeypairDescriptionReq{Description: formatRecord(servers)}}})
			return err
		})
	}
	for name, servers := range r.records {
		if name == keypair {
			continue
		}
		if i := indexOf(servers, server); i >= 0 && bound {
			// A server holds one key pair: binding another replaced this one.
			if err := update(name, append(append([]string{}, servers[:i]...), servers[i+1:]...)); err != nil {
				return err
			}
		}
	}
	servers, ok := r.records[keypair]
	if !ok {
		return nil
	}
	i := indexOf(servers, server)
	switch {
	case bound && i < 0:
		return update(keypair, append(append([]string{}, servers...), server))
	case !bound && i >= 0:
		return update(keypair, append(append([]string{}, servers[:i]...), servers[i+1:]...))
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// Import imports a public key (CreateKeypair with public_key) and marks it with accessctl's
// description. If marking fails the key pair stays unmarked: accessctl will never delete it.
func (r *Registry) Import(ctx context.Context, name, publicKey string) error {
	typ := model.GetCreateKeypairActionTypeEnum().SSH
	err := r.retry(ctx, func() error {
		_, err := r.kps.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
			Keypair: &model.CreateKeypairAction{Name: name, Type: &typ, PublicKey: str(publicKey)},
		}})
		return err
	})
	if err != nil {
		return fmt.Errorf("import key pair %s: %w", name, err)
	}
	err = r.retry(ctx, func() error {
		_, err := r.kps.UpdateKeypairDescription(&model.UpdateKeypairDescriptionRequest{KeypairName: name,
			Body: &model.UpdateKeypairDescriptionRequestBody{Keypair: &model.UpdateKeypairDescriptionReq{Description: cloud.MarkerDescription}}})
		return err
	})
	if err != nil {
		return &cloud.NoteError{Note: fmt.Sprintf("imported, but marking it as imported by accessctl failed, so accessctl will never delete it: %v", err)}
	}
	if r.records == nil {
		r.records = map[string][]string{}
	}
	r.records[name] = nil
	return nil
}

// Bind starts the associate task (a reset: accessctl sends no old private key or password) and
// waits for it.
func (r *Registry) Bind(ctx context.Context, keypair, instance string) error {
	var resp *model.AssociateKeypairResponse
	err := r.retry(ctx, func() (err error) {
		resp, err = r.kps.AssociateKeypair(&model.AssociateKeypairRequest{Body: &model.AssociateKeypairRequestBody{
			KeypairName: keypair, Server: &model.EcsServerInfo{Id: instance},
		}})
		return err
	})
	if err != nil {
		return fmt.Errorf("associate key pair %s with server %s: %w", keypair, instance, err)
	}
	if resp.Status != nil && resp.Status.Value() == "FAILED" {
		return fmt.Errorf("associate key pair %s with server %s: task refused: %s %s", keypair, instance, val(resp.ErrorCode), val(resp.ErrorMsg))
	}
	if err := r.wait(ctx, val(resp.TaskId), fmt.Sprintf("associate key pair %s with server %s", keypair, instance)); err != nil {
		return err
	}
	if err := r.record(ctx, keypair, instance, true); err != nil {
		return &cloud.NoteError{Note: fmt.Sprintf("bound, but accessctl's record in the key pair's description was not updated: %v", err)}
	}
	return nil
}

// Unbind starts the disassociate task and waits for it.
func (r *Registry) Unbind(ctx context.Context, keypair, instance string) error {
	var resp *model.DisassociateKeypairResponse
	err := r.retry(ctx, func() (err error) {
		resp, err = r.kps.DisassociateKeypair(&model.DisassociateKeypairRequest{Body: &model.DisassociateKeypairRequestBody{
			Server: &model.DisassociateEcsServerInfo{Id: instance},
		}})
		return err
	})
	if err != nil {
		return fmt.Errorf("disassociate key pair %s from server %s: %w", keypair, instance, err)
	}
	if err := r.wait(ctx, val(resp.TaskId), fmt.Sprintf("disassociate key pair %s from server %s", keypair, instance)); err != nil {
		return err
	}
	if err := r.record(ctx, keypair, instance, false); err != nil {
		return &cloud.NoteError{Note: fmt.Sprintf("unbound, but accessctl's record in the key pair's description was not updated: %v", err)}
	}
	return nil
}

// wait polls a task until SUCCESS_* or FAILED_*, bounded.
func (r *Registry) wait(ctx context.Context, task, what string) error {
	if task == "" {
		return fmt.Errorf("%s: the registry returned no task id", what)
	}
	return cloud.Poll(ctx, r.poll, what+" (task "+task+")", func() (bool, error) {
		var resp *model.ListKeypairTaskResponse
		err := r.retry(ctx, func() (err error) {
			resp, err = r.kps.ListKeypairTask(&model.ListKeypairTaskRequest{TaskId: task})
			return err
		})
		if err != nil {
			return false, fmt.Errorf("%s: read task %s: %w", what, task, err)
		}
		s := ""
		if resp.TaskStatus != nil {
			s = resp.TaskStatus.Value()
		}
		switch {
		case strings.HasPrefix(s, "SUCCESS"):
			return true, nil
		case strings.HasPrefix(s, "FAILED"):
			return false, fmt.Errorf("%s: task %s ended %s", what, task, s)
		}
		return false, nil
	})
}

// Delete deletes a key pair. KPS does not refuse while a server holds it; accessctl's policy
// bound-keypair-delete does, before apply.
func (r *Registry) Delete(ctx context.Context, name string) error {
	err := r.retry(ctx, func() error {
		_, err := r.kps.DeleteKeypair(&model.DeleteKeypairRequest{KeypairName: name})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete key pair %s: %w", name, err)
	}
	return nil
}

func (r *Registry) retry(ctx context.Context, f func() error) error {
	err := cloud.Retry(ctx, r.cfg.Retry, throttled, f)
	if err == nil {
		return nil
	}
	return scrub(short(err))
}

// Code returns the KPS/ECS error code of err ("" when none).
func Code(err error) string {
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		return se.ErrorCode
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return ""
}

func throttled(err error) bool {
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		return se.StatusCode == http.StatusTooManyRequests || se.StatusCode == http.StatusServiceUnavailable || strings.Contains(se.ErrorCode, "Throttl")
	}
	return false
}

type codeError struct {
	code   string
	status int
	msg    string
}

func (e *codeError) Error() string { return fmt.Sprintf("%s (HTTP %d): %s", e.code, e.status, e.msg) }

func short(err error) error {
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		return &codeError{code: se.ErrorCode, status: se.StatusCode, msg: se.ErrorMessage}
	}
	return err
}

func scrub(err error) error {
	return cloud.ScrubError(err, os.Getenv("HUAWEICLOUD_SDK_SK"), os.Getenv("HUAWEICLOUD_SDK_AK"), os.Getenv("HUAWEICLOUD_SDK_SECURITY_TOKEN"))
}

func str(s string) *string { return &s }

func val(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Discover lists the servers tagged tagKey=tagValue: ListServersDetails (all pages), filtered by
// the servers' tags ("KEY=VALUE" in the answer's tags list).
func (r *Registry) Discover(ctx context.Context, tagKey, tagValue string) ([]cloud.Instance, error) {
	var out []cloud.Instance
	seen := map[string]bool{}
	want := tagKey + "=" + tagValue
	for offset := int32(1); offset < 10000; offset++ {
		var resp *ecsmodel.ListServersDetailsResponse
		err := r.retry(ctx, func() (err error) {
			limit, off := int32(serverPage), offset
			resp, err = r.ecs.ListServersDetails(&ecsmodel.ListServersDetailsRequest{Limit: &limit, Offset: &off})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list servers: %w", err)
		}
		n := 0
		if resp.Servers != nil {
			for _, s := range *resp.Servers {
				if seen[s.Id] {
					continue
				}
				seen[s.Id] = true
				n++
				if s.Tags == nil || indexOf(*s.Tags, want) < 0 {
					continue
				}
				i := cloud.Instance{ID: s.Id, Name: s.Name, OS: strings.ToLower(s.Metadata["os_type"])}
				nets := make([]string, 0, len(s.Addresses))
				for k := range s.Addresses {
					nets = append(nets, k)
				}
				sort.Strings(nets) // the same address every run
				for _, net := range nets {
					for _, a := range s.Addresses[net] {
						kind := ""
						if a.OSEXTIPStype != nil {
							kind = a.OSEXTIPStype.Value()
						}
						switch {
						case kind == "floating" && i.PublicIP == "":
							i.PublicIP = a.Addr
						case kind != "floating" && i.PrivateIP == "":
							i.PrivateIP = a.Addr
						}
					}
				}
				out = append(out, i)
			}
		}
		if n < serverPage {
			break
		}
	}
	return out, nil
}
