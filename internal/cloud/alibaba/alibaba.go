// Package alibaba is the Alibaba Cloud ECS key-pair registry (API 2014-05-26) over the official
// SDK github.com/alibabacloud-go/ecs-20140526/v7: DescribeKeyPairs (with public keys),
// DescribeInstances (bindings and OS type), ImportKeyPair (tagged managed-by=accessctl),
// AttachKeyPair, DetachKeyPair and DeleteKeyPairs.
package alibaba

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	credential "github.com/aliyun/credentials-go/credentials"

	"github.com/accessctl/accessctl/internal/cloud"
)

// Page sizes: DescribeKeyPairs allows at most 50, DescribeInstances at most 100.
const (
	keyPairPage  = 50
	instancePage = 100
)

// Registry is one region's ECS key pairs.
type Registry struct {
	cfg    cloud.Config
	client *ecs.Client
}

// New opens the registry. Credentials come from the Alibaba Cloud default chain
// (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, ~/.alibabacloud/credentials, the instance's RAM role, ...);
// the SDK asks for them at the first call.
func New(cfg cloud.Config) (*Registry, error) {
	cred, err := credential.NewCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("alibaba cloud credentials: %w", scrub(err))
	}
	oc := &openapi.Config{Credential: cred, RegionId: tea.String(cfg.Region)}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("endpoint %q is not a URL", cfg.Endpoint)
		}
		// The SDK takes the endpoint without a scheme; Protocol overrides each call's HTTPS.
		oc.Endpoint = tea.String(u.Host)
		oc.Protocol = tea.String(strings.ToUpper(u.Scheme))
	} else {
		oc.Endpoint = tea.String("ecs." + cfg.Region + ".aliyuncs.com")
	}
	c, err := ecs.NewClient(oc)
	if err != nil {
		return nil, fmt.Errorf("ecs client: %w", scrub(err))
	}
	return &Registry{cfg: cfg, client: c}, nil
}

// List reads all key pairs (IncludePublicKey) and all instances' key pairs and OS types.
func (r *Registry) List(ctx context.Context) (*cloud.State, error) {
	st := &cloud.State{KeyPairs: []cloud.KeyPair{}, Bindings: []cloud.Binding{}}
	// A page that brings nothing new ends the walk too: an endpoint that ignores PageNumber
	// must not make accessctl loop or count twice.
	seenKP := map[string]bool{}
	for page := int32(1); ; page++ {
		var resp *ecs.DescribeKeyPairsResponse
		err := r.retry(ctx, func() (err error) {
			resp, err = r.client.DescribeKeyPairs(&ecs.DescribeKeyPairsRequest{
				RegionId: tea.String(r.cfg.Region), IncludePublicKey: tea.Bool(true),
				PageNumber: tea.Int32(page), PageSize: tea.Int32(keyPairPage),
			})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("DescribeKeyPairs: %w", err)
		}
		var items []*ecs.DescribeKeyPairsResponseBodyKeyPairsKeyPair
		total := int32(0)
		if resp.Body != nil {
			if resp.Body.KeyPairs != nil {
				items = resp.Body.KeyPairs.KeyPair
			}
			total = tea.Int32Value(resp.Body.TotalCount)
		}
		fresh := 0
		for _, kp := range items {
			if kp == nil || seenKP[tea.StringValue(kp.KeyPairName)] {
				continue
			}
			fresh++
			seenKP[tea.StringValue(kp.KeyPairName)] = true
			k := cloud.KeyPair{Name: tea.StringValue(kp.KeyPairName), PublicKey: strings.TrimSpace(tea.StringValue(kp.PublicKey)),
				Fingerprint: tea.StringValue(kp.KeyPairFingerPrint)}
			if kp.Tags != nil {
				for _, t := range kp.Tags.Tag {
					if t != nil && tea.StringValue(t.TagKey) == cloud.MarkerKey && tea.StringValue(t.TagValue) == cloud.MarkerValue {
						k.ImportedByAccessctl = true
					}
				}
			}
			st.KeyPairs = append(st.KeyPairs, k)
		}
		if fresh == 0 || int32(len(st.KeyPairs)) >= total || page > 1000 {
			break
		}
	}
	seen := 0
	seenIn := map[string]bool{}
	for page := int32(1); ; page++ {
		var resp *ecs.DescribeInstancesResponse
		err := r.retry(ctx, func() (err error) {
			resp, err = r.client.DescribeInstances(&ecs.DescribeInstancesRequest{
				RegionId: tea.String(r.cfg.Region), PageNumber: tea.Int32(page), PageSize: tea.Int32(instancePage),
			})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("DescribeInstances: %w", err)
		}
		var items []*ecs.DescribeInstancesResponseBodyInstancesInstance
		total := int32(0)
		if resp.Body != nil {
			if resp.Body.Instances != nil {
				items = resp.Body.Instances.Instance
			}
			total = tea.Int32Value(resp.Body.TotalCount)
		}
		fresh := 0
		for _, in := range items {
			if in == nil || seenIn[tea.StringValue(in.InstanceId)] {
				continue
			}
			fresh++
			seenIn[tea.StringValue(in.InstanceId)] = true
			seen++
			st.Bindings = append(st.Bindings, cloud.Binding{Instance: tea.StringValue(in.InstanceId),
				Keypair: tea.StringValue(in.KeyPairName), OS: strings.ToLower(tea.StringValue(in.OSType))})
		}
		if fresh == 0 || int32(seen) >= total || page > 1000 {
			break
		}
	}
	return st, nil
}

// Import imports a public key, tagged as imported by accessctl.
func (r *Registry) Import(ctx context.Context, name, publicKey string) error {
	err := r.retry(ctx, func() error {
		_, err := r.client.ImportKeyPair(&ecs.ImportKeyPairRequest{
			RegionId: tea.String(r.cfg.Region), KeyPairName: tea.String(name), PublicKeyBody: tea.String(publicKey),
			Tag: []*ecs.ImportKeyPairRequestTag{{Key: tea.String(cloud.MarkerKey), Value: tea.String(cloud.MarkerValue)}},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("ImportKeyPair %s: %w", name, err)
	}
	return nil
}

// perInstance is the per-instance outcome AttachKeyPair and DetachKeyPair report.
type perInstance struct {
	id, success, code, message string
}

func checkResults(results []perInstance, instance string) error {
	for _, res := range results {
		if res.id == instance && !strings.EqualFold(res.success, "true") {
			return fmt.Errorf("instance %s: %s: %s", instance, res.code, res.message)
		}
	}
	return nil
}

// Bind attaches the key pair to one instance. ECS applies it at the instance's next restart.
func (r *Registry) Bind(ctx context.Context, keypair, instance string) error {
	ids, _ := json.Marshal([]string{instance})
	var resp *ecs.AttachKeyPairResponse
	err := r.retry(ctx, func() (err error) {
		resp, err = r.client.AttachKeyPair(&ecs.AttachKeyPairRequest{
			RegionId: tea.String(r.cfg.Region), KeyPairName: tea.String(keypair), InstanceIds: tea.String(string(ids)),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("AttachKeyPair %s to %s: %w", keypair, instance, err)
	}
	var results []perInstance
	if resp.Body != nil && resp.Body.Results != nil {
		for _, x := range resp.Body.Results.Result {
			if x != nil {
				results = append(results, perInstance{tea.StringValue(x.InstanceId), tea.StringValue(x.Success), tea.StringValue(x.Code), tea.StringValue(x.Message)})
			}
		}
	}
	if err := checkResults(results, instance); err != nil {
		return fmt.Errorf("AttachKeyPair %s: %w", keypair, err)
	}
	return nil
}

// Unbind detaches the key pair from one instance.
func (r *Registry) Unbind(ctx context.Context, keypair, instance string) error {
	ids, _ := json.Marshal([]string{instance})
	var resp *ecs.DetachKeyPairResponse
	err := r.retry(ctx, func() (err error) {
		resp, err = r.client.DetachKeyPair(&ecs.DetachKeyPairRequest{
			RegionId: tea.String(r.cfg.Region), KeyPairName: tea.String(keypair), InstanceIds: tea.String(string(ids)),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("DetachKeyPair %s from %s: %w", keypair, instance, err)
	}
	var results []perInstance
	if resp.Body != nil && resp.Body.Results != nil {
		for _, x := range resp.Body.Results.Result {
			if x != nil {
				results = append(results, perInstance{tea.StringValue(x.InstanceId), tea.StringValue(x.Success), tea.StringValue(x.Code), tea.StringValue(x.Message)})
			}
		}
	}
	if err := checkResults(results, instance); err != nil {
		return fmt.Errorf("DetachKeyPair %s: %w", keypair, err)
	}
	return nil
}

// Delete deletes one key pair. ECS refuses while an instance is bound to it.
func (r *Registry) Delete(ctx context.Context, name string) error {
	names, _ := json.Marshal([]string{name})
	err := r.retry(ctx, func() error {
		_, err := r.client.DeleteKeyPairs(&ecs.DeleteKeyPairsRequest{RegionId: tea.String(r.cfg.Region), KeyPairNames: tea.String(string(names))})
		return err
	})
	if err != nil {
		return fmt.Errorf("DeleteKeyPairs %s: %w", name, err)
	}
	return nil
}

// retry runs one SDK call, retrying throttling with backoff, and turns SDK errors into short
// ones ("KeyPair.AlreadyExist (HTTP 400): ...") with no credential in them.
func (r *Registry) retry(ctx context.Context, f func() error) error {
	err := cloud.Retry(ctx, r.cfg.Retry, throttled, func() error { return f() })
	if err == nil {
		return nil
	}
	return scrub(short(err))
}

// Code returns the ECS error code of err ("" when none).
func Code(err error) string {
	var de *dara.SDKError
	if errors.As(err, &de) {
		return tea.StringValue(de.Code)
	}
	var te *tea.SDKError
	if errors.As(err, &te) {
		return tea.StringValue(te.Code)
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return ""
}

func status(err error) int {
	var de *dara.SDKError
	if errors.As(err, &de) {
		return tea.IntValue(de.StatusCode)
	}
	var te *tea.SDKError
	if errors.As(err, &te) {
		return tea.IntValue(te.StatusCode)
	}
	return 0
}

// throttled: ECS answers Throttling* codes (HTTP 400/429/503) and ServiceUnavailable when busy.
func throttled(err error) bool {
	c := Code(err)
	return strings.HasPrefix(c, "Throttling") || c == "ServiceUnavailable" || status(err) == 429 || status(err) == 503
}

// codeError is an SDK error reduced to its code, status and message.
type codeError struct {
	code   string
	status int
	msg    string
}

func (e *codeError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.code, e.status, e.msg)
}

func short(err error) error {
	var de *dara.SDKError
	if errors.As(err, &de) {
		msg := tea.StringValue(de.Message)
		// The SDK's message is "code: 400, <message> request id: <id>".
		if i := strings.Index(msg, ", "); strings.HasPrefix(msg, "code: ") && i > 0 {
			msg = msg[i+2:]
		}
		return &codeError{code: tea.StringValue(de.Code), status: tea.IntValue(de.StatusCode), msg: msg}
	}
	var te *tea.SDKError
	if errors.As(err, &te) {
		return &codeError{code: tea.StringValue(te.Code), status: tea.IntValue(te.StatusCode), msg: tea.StringValue(te.Message)}
	}
	return err
}

// scrub removes the credential values the default chain may have read from the environment.
func scrub(err error) error {
	return cloud.ScrubError(err, os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"), os.Getenv("ALIBABA_CLOUD_SECURITY_TOKEN"),
		os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), os.Getenv("ALICLOUD_ACCESS_KEY_SECRET"))
}

// Discover lists the instances tagged tagKey=tagValue (DescribeInstances with a Tag filter).
func (r *Registry) Discover(ctx context.Context, tagKey, tagValue string) ([]cloud.Instance, error) {
	var out []cloud.Instance
	seen := map[string]bool{}
	for page := int32(1); page <= 1000; page++ {
		var resp *ecs.DescribeInstancesResponse
		err := r.retry(ctx, func() (err error) {
			resp, err = r.client.DescribeInstances(&ecs.DescribeInstancesRequest{
				RegionId: tea.String(r.cfg.Region), PageNumber: tea.Int32(page), PageSize: tea.Int32(instancePage),
				Tag: []*ecs.DescribeInstancesRequestTag{{Key: tea.String(tagKey), Value: tea.String(tagValue)}},
			})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("DescribeInstances: %w", err)
		}
		var items []*ecs.DescribeInstancesResponseBodyInstancesInstance
		total := int32(0)
		if resp.Body != nil {
			if resp.Body.Instances != nil {
				items = resp.Body.Instances.Instance
			}
			total = tea.Int32Value(resp.Body.TotalCount)
		}
		fresh := 0
		for _, in := range items {
			if in == nil || seen[tea.StringValue(in.InstanceId)] || !hasTag(in, tagKey, tagValue) {
				continue
			}
			id := tea.StringValue(in.InstanceId)
			seen[id] = true
			fresh++
			i := cloud.Instance{ID: id, Name: tea.StringValue(in.InstanceName), OS: strings.ToLower(tea.StringValue(in.OSType))}
			if in.VpcAttributes != nil && in.VpcAttributes.PrivateIpAddress != nil {
				i.PrivateIP = first(in.VpcAttributes.PrivateIpAddress.IpAddress)
			}
			if in.PublicIpAddress != nil {
				i.PublicIP = first(in.PublicIpAddress.IpAddress)
			}
			if i.PublicIP == "" && in.EipAddress != nil {
				i.PublicIP = tea.StringValue(in.EipAddress.IpAddress)
			}
			out = append(out, i)
		}
		if fresh == 0 || int32(len(seen)) >= total {
			break
		}
	}
	return out, nil
}

// hasTag checks the tag again on the answer (an endpoint that ignores the filter must not turn
// every instance into a host); an answer without tags is trusted to be filtered.
func hasTag(in *ecs.DescribeInstancesResponseBodyInstancesInstance, k, v string) bool {
	if in.Tags == nil || len(in.Tags.Tag) == 0 {
		return true
	}
	for _, t := range in.Tags.Tag {
		if t != nil && tea.StringValue(t.TagKey) == k && tea.StringValue(t.TagValue) == v {
			return true
		}
	}
	return false
}

func first(l []*string) string {
	for _, s := range l {
		if s != nil && *s != "" {
			return *s
		}
	}
	return ""
}
