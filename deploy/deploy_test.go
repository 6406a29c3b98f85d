package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The checks run offline: they read files of this repository and Go types compiled
// into the test, nothing else.

const (
	k8sDir         = "k8s"
	dashboardPath  = "grafana/chatd.json"
	secretTemplate = "secret.example.yaml"
	kustomizeFile  = "kustomization.yaml"
	repoRoot       = ".."

	// What chatd does on SIGTERM (cmd/chatd/main.go, node): the gossip leave waits
	// at most 5 s, then the HTTP and WebSocket shutdown shares a 15 s budget.
	drainLeaveSeconds    = 5
	drainShutdownSeconds = 15
)

// kustomization is the part of kustomize's Kustomization
// (kustomize.config.k8s.io/v1beta1) that these manifests may use, with kustomize's
// field names. Decoding is strict, so a field outside this list fails the test: add
// it here (with kustomize's exact name and type) when the manifests need it.
type kustomization struct {
	metav1.TypeMeta   `json:",inline"`
	Namespace         string            `json:"namespace,omitempty"`
	NamePrefix        string            `json:"namePrefix,omitempty"`
	NameSuffix        string            `json:"nameSuffix,omitempty"`
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`
	Labels            []kustomizeLabels `json:"labels,omitempty"`
	Resources         []string          `json:"resources,omitempty"`
	Images            []kustomizeImage  `json:"images,omitempty"`
}

type kustomizeLabels struct {
	Pairs            map[string]string `json:"pairs,omitempty"`
	IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	IncludeTemplates bool              `json:"includeTemplates,omitempty"`
}

type kustomizeImage struct {
	Name    string `json:"name,omitempty"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// kinds maps each apiVersion and kind the manifests may hold to its Go type.
var kinds = map[string]func() any{
	"apps/v1 StatefulSet":           func() any { return new(appsv1.StatefulSet) },
	"v1 Service":                    func() any { return new(corev1.Service) },
	"v1 Secret":                     func() any { return new(corev1.Secret) },
	"policy/v1 PodDisruptionBudget": func() any { return new(policyv1.PodDisruptionBudget) },
	"kustomize.config.k8s.io/v1beta1 Kustomization": func() any { return new(kustomization) },
}

// object is one YAML document of deploy/k8s, decoded.
type object struct {
	file string // base name
	kind string // "apiVersion kind"
	obj  any
}

func (o object) String() string { return o.file + " (" + o.kind + ")" }

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeStrict decodes one YAML document into its Kubernetes type: duplicate keys,
// unknown fields, fields in the wrong case and values of the wrong type are errors,
// as under the API server's strict field validation (kubectl's default).
func decodeStrict(doc []byte) (kind string, obj any, err error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return "", nil, fmt.Errorf("yaml: %w", err)
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return "", nil, fmt.Errorf("apiVersion/kind: %w", err)
	}
	kind = tm.APIVersion + " " + tm.Kind
	newObj, ok := kinds[kind]
	if !ok {
		return kind, nil, fmt.Errorf("apiVersion %q kind %q: not a kind this test knows (add it to kinds)", tm.APIVersion, tm.Kind)
	}
	obj = newObj()
	strictErrs, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return kind, nil, err
	}
	if len(strictErrs) > 0 {
		return kind, nil, fmt.Errorf("%w", joinErrs(strictErrs))
	}
	return kind, obj, nil
}

func joinErrs(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// manifests decodes every document of every YAML file in deploy/k8s.
func manifests(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", k8sDir, err)
	}
	var out []object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSeparator.Split(string(b), -1) {
			if isEmptyYAML(doc) {
				continue
			}
			kind, obj, err := decodeStrict([]byte(doc))
			if err != nil {
				t.Errorf("%s, document %d: %v", f, i+1, err)
				continue
			}
			out = append(out, object{file: filepath.Base(f), kind: kind, obj: obj})
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

func isEmptyYAML(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// only returns the single object of type T, failing unless there is exactly one.
func only[T any](t *testing.T, objs []object, pick func(T) bool) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok && (pick == nil || pick(v)) {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, found %d", zero, len(found))
	}
	return found[0]
}

// TestStrictDecodingHasTeeth makes sure the decoder used below really rejects what
// the API server rejects, so that a passing TestManifestsDecodeStrictly means
// something.
func TestStrictDecodingHasTeeth(t *testing.T) {
	const ok = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec:\n  maxUnavailable: 1\n"
	if _, _, err := decodeStrict([]byte(ok)); err != nil {
		t.Fatalf("a valid PodDisruptionBudget: %v", err)
	}
	for name, doc := range map[string]string{
		"unknown field":     strings.Replace(ok, "maxUnavailable", "maxUnavailabel", 1),
		"field's case":      strings.Replace(ok, "maxUnavailable", "MaxUnavailable", 1),
		"duplicate key":     ok + "  maxUnavailable: 2\n",
		"wrong type":        strings.Replace(ok, "metadata: {name: x}", "metadata: {name: [x]}", 1),
		"unknown kind":      strings.Replace(ok, "PodDisruptionBudget", "PodDisruptionBudgets", 1),
		"old API version":   strings.Replace(ok, "policy/v1", "policy/v1beta1", 1),
		"YAML 1.1 boolean":  "apiVersion: v1\nkind: Service\nmetadata: {name: on}\n",
		"misplaced section": strings.Replace(ok, "spec:", "status:\n  maxUnavailable: 1\nspecs:", 1),
	} {
		if _, _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error:\n%s", name, doc)
		}
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	objs := manifests(t)
	for _, o := range objs {
		var meta *metav1.ObjectMeta
		switch v := o.obj.(type) {
		case *appsv1.StatefulSet:
			meta = &v.ObjectMeta
		case *corev1.Service:
			meta = &v.ObjectMeta
		case *corev1.Secret:
			meta = &v.ObjectMeta
		case *policyv1.PodDisruptionBudget:
			meta = &v.ObjectMeta
		case *kustomization:
			continue
		}
		if msgs := content.IsDNS1123Label(meta.Name); len(msgs) > 0 {
			t.Errorf("%s: name %q: %v", o, meta.Name, msgs)
		}
		if meta.Namespace != "" {
			t.Errorf("%s: namespace %q: leave namespaces out (kubectl -n or kustomization's namespace sets them)", o, meta.Namespace)
		}
		checkLabels(t, o.String()+" labels", meta.Labels)
	}
	t.Logf("%d objects decoded strictly from %s", len(objs), k8sDir)
}

func checkLabels(t *testing.T, what string, labels map[string]string) {
	t.Helper()
	for k, v := range labels {
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			t.Errorf("%s: key %q: %v", what, k, msgs)
		}
		if msgs := content.IsLabelValue(v); len(msgs) > 0 {
			t.Errorf("%s: %s=%q: %v", what, k, v, msgs)
		}
	}
}

func TestKustomization(t *testing.T) {
	objs := manifests(t)
	k := only[*kustomization](t, objs, nil)
	listed := map[string]bool{}
	for _, r := range k.Resources {
		if listed[r] {
			t.Errorf("%s lists %s twice", kustomizeFile, r)
		}
		listed[r] = true
		if _, err := os.Stat(filepath.Join(k8sDir, r)); err != nil {
			t.Errorf("%s lists %s: %v", kustomizeFile, r, err)
		}
	}
	// Every manifest is applied by `kubectl apply -k`, except the Secret template:
	// applying its placeholders would overwrite the operator's real Secret.
	files := map[string]bool{}
	for _, o := range objs {
		files[o.file] = true
	}
	for f := range files {
		switch {
		case f == kustomizeFile:
		case f == secretTemplate && listed[f]:
			t.Errorf("%s lists %s: applying the template would replace the real Secret with placeholders", kustomizeFile, f)
		case f != secretTemplate && !listed[f]:
			t.Errorf("%s is not listed in %s's resources", f, kustomizeFile)
		}
	}
	for _, l := range k.Labels {
		checkLabels(t, kustomizeFile+" labels", l.Pairs)
	}
	// The image the StatefulSet names is the one the kustomization sets.
	sts := only[*appsv1.StatefulSet](t, objs, nil)
	for _, c := range sts.Spec.Template.Spec.Containers {
		name := c.Image
		if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
			name = name[:i]
		}
		if !slices.ContainsFunc(k.Images, func(im kustomizeImage) bool { return im.Name == name }) {
			t.Errorf("container %s's image %q has no entry in %s's images (where operators set registry and tag)", c.Name, c.Image, kustomizeFile)
		}
	}
}

// chatdFlags returns the flag names that cmd/chatd accepts, read from its source.
func chatdFlags(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "cmd", "chatd", "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?:\bstr|\bfs\.\w+Var)\(&c\.\w+,\s*"([a-z0-9-]+)"`)
	flags := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		flags[m[1]] = true
	}
	for _, f := range []string{"listen", "gossip", "peer", "join", "advertise", "name", "cluster-key"} {
		if !flags[f] {
			t.Fatalf("found no --%s in cmd/chatd/config.go (found %v): update chatdFlags to how flags are declared now", f, slices.Sorted(maps.Keys(flags)))
		}
	}
	return flags
}

// envFlag turns CHATD_CLUSTER_KEY into cluster-key.
func envFlag(env string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "CHATD_"), "_", "-"))
}

func portOf(t *testing.T, what, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s %q: %v", what, addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s %q: %v", what, addr, err)
	}
	return int32(n)
}

func TestStatefulSet(t *testing.T) {
	objs := manifests(t)
	sts := only[*appsv1.StatefulSet](t, objs, nil)
	headless := only(t, objs, func(s *corev1.Service) bool { return s.Spec.ClusterIP == corev1.ClusterIPNone })
	spec := sts.Spec
	pod := spec.Template.Spec

	if spec.Replicas == nil || *spec.Replicas != 3 {
		t.Errorf("replicas %v, want 3", spec.Replicas)
	}
	if spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %q, want Parallel", spec.PodManagementPolicy)
	}
	if spec.ServiceName != headless.Name {
		t.Errorf("serviceName %q, want the headless Service %q", spec.ServiceName, headless.Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil || sel.Empty() {
		t.Fatalf("selector %v: %v (empty: %v)", spec.Selector, err, sel != nil && sel.Empty())
	}
	if !selectorMatches(spec.Selector, spec.Template.Labels) {
		t.Errorf("the selector %v does not match the pod template's labels %v", spec.Selector.MatchLabels, spec.Template.Labels)
	}
	checkLabels(t, "pod template labels", spec.Template.Labels)
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("enableServiceLinks must be false: a Service named chatd injects CHATD_PORT, CHATD_SERVICE_HOST... into the CHATD_ namespace of chatd's settings")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]

	// Ports: http 8080, gossip 7946 TCP and UDP, peer 7947, named within the rules.
	ports := map[string]corev1.ContainerPort{}
	for _, p := range c.Ports {
		if msgs := validation.IsValidPortName(p.Name); len(msgs) > 0 {
			t.Errorf("port name %q: %v", p.Name, msgs)
		}
		if p.Protocol != corev1.ProtocolTCP && p.Protocol != corev1.ProtocolUDP {
			t.Errorf("port %s: protocol %q", p.Name, p.Protocol)
		}
		ports[p.Name] = p
	}
	wantPorts := map[string]struct {
		port  int32
		proto corev1.Protocol
	}{
		"http": {8080, corev1.ProtocolTCP}, "gossip-tcp": {7946, corev1.ProtocolTCP},
		"gossip-udp": {7946, corev1.ProtocolUDP}, "peer": {7947, corev1.ProtocolTCP},
	}
	for name, w := range wantPorts {
		if p, ok := ports[name]; !ok || p.ContainerPort != w.port || p.Protocol != w.proto {
			t.Errorf("container port %s = %+v, want %d/%s", name, p, w.port, w.proto)
		}
	}

	// Environment: every CHATD_ variable is a chatd flag; values agree with the ports.
	flags := chatdFlags(t)
	env := map[string]corev1.EnvVar{}
	for i, e := range c.Env {
		if msgs := validation.IsEnvVarName(e.Name); len(msgs) > 0 {
			t.Errorf("env %q: %v", e.Name, msgs)
		}
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		if strings.HasPrefix(e.Name, "CHATD_") && !flags[envFlag(e.Name)] {
			t.Errorf("env %s: chatd has no --%s flag (cmd/chatd/config.go)", e.Name, envFlag(e.Name))
		}
		if (e.Value != "") == (e.ValueFrom != nil) {
			t.Errorf("env %s: want exactly one of value and valueFrom", e.Name)
		}
		// Kubernetes expands $(VAR) only for variables defined earlier in the list;
		// anything else stays in the value literally.
		for _, m := range regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).FindAllStringSubmatch(e.Value, -1) {
			if !slices.ContainsFunc(c.Env[:i], func(prev corev1.EnvVar) bool { return prev.Name == m[1] }) {
				t.Errorf("env %s refers to $(%s), which is not defined before it", e.Name, m[1])
			}
		}
		env[e.Name] = e
	}
	for _, name := range []string{"CHATD_NAME", "CHATD_ADVERTISE", "CHATD_LISTEN", "CHATD_GOSSIP", "CHATD_PEER",
		"CHATD_JOIN", "CHATD_CLUSTER_KEY", "CHATD_JWT_SECRET", "CHATD_OPERATOR_TOKEN", "CHATD_POSTGRES_URL", "CHATD_REDIS_URL"} {
		if _, ok := env[name]; !ok {
			t.Errorf("env %s is missing", name)
		}
	}
	fieldRef := func(name, path string) {
		t.Helper()
		e := env[name]
		if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != path {
			t.Errorf("env %s must come from the downward API's %s", name, path)
		}
	}
	fieldRef("CHATD_NAME", "metadata.name")
	fieldRef("CHATD_ADVERTISE", "status.podIP")
	for name, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
				"status.hostIP", "status.podIP", "status.podIPs":
			default:
				t.Errorf("env %s: fieldPath %q is not one the downward API offers to env", name, e.ValueFrom.FieldRef.FieldPath)
			}
		}
	}
	if p := portOf(t, "CHATD_LISTEN", env["CHATD_LISTEN"].Value); p != ports["http"].ContainerPort {
		t.Errorf("CHATD_LISTEN port %d, container port http %d", p, ports["http"].ContainerPort)
	}
	if p := portOf(t, "CHATD_GOSSIP", env["CHATD_GOSSIP"].Value); p != ports["gossip-tcp"].ContainerPort || p != ports["gossip-udp"].ContainerPort {
		t.Errorf("CHATD_GOSSIP port %d, container ports gossip-tcp %d gossip-udp %d", p, ports["gossip-tcp"].ContainerPort, ports["gossip-udp"].ContainerPort)
	}
	if p := portOf(t, "CHATD_PEER", env["CHATD_PEER"].Value); p != ports["peer"].ContainerPort {
		t.Errorf("CHATD_PEER port %d, container port peer %d", p, ports["peer"].ContainerPort)
	}
	for _, seed := range strings.Split(env["CHATD_JOIN"].Value, ",") {
		host, _, _ := net.SplitHostPort(seed)
		if p := portOf(t, "CHATD_JOIN", seed); p != ports["gossip-tcp"].ContainerPort {
			t.Errorf("CHATD_JOIN seed %s: port %d, the gossip port is %d", seed, p, ports["gossip-tcp"].ContainerPort)
		}
		if host != headless.Name && !strings.HasPrefix(host, headless.Name+".") && !strings.Contains(host, "."+headless.Name+".") {
			t.Errorf("CHATD_JOIN seed %s: not a name of the headless Service %s", seed, headless.Name)
		}
	}
	if f := env["CHATD_LOG_FORMAT"].Value; f != "" && f != "json" && f != "text" {
		t.Errorf("CHATD_LOG_FORMAT %q", f)
	}

	// Secrets: every secretKeyRef names a key of the Secret template.
	secret := only[*corev1.Secret](t, objs, nil)
	used := map[string]bool{}
	for name, e := range env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		used[ref.Key] = true
		if ref.Name != secret.Name {
			t.Errorf("env %s refers to Secret %q; the template is %q", name, ref.Name, secret.Name)
		}
		if _, ok := secret.StringData[ref.Key]; !ok {
			t.Errorf("env %s refers to key %q, which %s does not have", name, ref.Key, secretTemplate)
		}
		if ref.Optional != nil && *ref.Optional {
			t.Errorf("env %s: the Secret key must not be optional (a node without it would run misconfigured)", name)
		}
	}
	for _, name := range []string{"CHATD_CLUSTER_KEY", "CHATD_JWT_SECRET", "CHATD_OPERATOR_TOKEN", "CHATD_POSTGRES_URL", "CHATD_REDIS_URL"} {
		if e := env[name]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("env %s must come from the Secret, not a literal", name)
		}
	}
	for k := range secret.StringData {
		if !used[k] {
			t.Errorf("%s key %q is used by no env variable", secretTemplate, k)
		}
	}

	// Probes on chatd's endpoints and the http port.
	probe := func(what string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe on %s", what, path)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("%s: path %q, want %s", what, p.HTTPGet.Path, path)
		}
		if got := resolvePort(p.HTTPGet.Port, c.Ports); got != ports["http"].ContainerPort {
			t.Errorf("%s: port %s is not the http port", what, p.HTTPGet.Port.String())
		}
	}
	probe("readinessProbe", c.ReadinessProbe, "/readyz")
	probe("livenessProbe", c.LivenessProbe, "/healthz")
	if c.StartupProbe != nil {
		probe("startupProbe", c.StartupProbe, "/healthz")
	}
	if p := c.ReadinessProbe; p != nil && p.TimeoutSeconds < 3 {
		t.Errorf("readinessProbe timeoutSeconds %d: /readyz waits up to 2 s for the store", p.TimeoutSeconds)
	}

	// Drain: a preStop pause, then SIGTERM, within the grace period.
	var pause int64
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		t.Error("no preStop hook: clients would still be routed to a draining node")
	} else if s := c.Lifecycle.PreStop.Sleep; s != nil {
		pause = s.Seconds
	} else {
		t.Error("preStop: want the sleep action (the image has no shell)")
	}
	need := pause + drainLeaveSeconds + drainShutdownSeconds
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < need+5 {
		got := "unset (30)"
		if g != nil {
			got = strconv.FormatInt(*g, 10)
		}
		t.Errorf("terminationGracePeriodSeconds %s: want at least %d (preStop %d s + leave %d s + shutdown %d s + 5 s margin)",
			got, need+5, pause, drainLeaveSeconds, drainShutdownSeconds)
	}

	// Resources.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[r]
		lim, okLim := c.Resources.Limits[r]
		if !okReq || !okLim {
			t.Errorf("resources: want a request and a limit for %s", r)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("resources: %s request %s above its limit %s", r, req.String(), lim.String())
		}
	}
	if e, ok := env["GOMEMLIMIT"]; ok {
		q, err := resource.ParseQuantity(strings.TrimSuffix(e.Value, "B"))
		lim := c.Resources.Limits[corev1.ResourceMemory]
		if err != nil {
			t.Errorf("GOMEMLIMIT %q: %v", e.Value, err)
		} else if q.Value() >= lim.Value()*95/100 {
			t.Errorf("GOMEMLIMIT %s: keep it below 95%% of the memory limit %s", e.Value, lim.String())
		}
	}

	// Security: non-root, read-only root file system, no privilege, no capability.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if sc == nil || psc == nil {
		t.Fatal("want a pod and a container securityContext")
	}
	if (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) && (psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot) {
		t.Error("runAsNonRoot must be true")
	}
	if uid := psc.RunAsUser; uid == nil || *uid == 0 {
		t.Error("runAsUser must be set to a non-zero uid")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem must be true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged must not be true")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v: want drop [ALL] and nothing added", sc.Capabilities)
	}
	// With a read-only root, chatd's data dir must be a mounted volume.
	if dir := env["CHATD_DATA_DIR"].Value; dir == "" || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return (dir == m.MountPath || strings.HasPrefix(dir, m.MountPath+"/")) && !m.ReadOnly
	}) {
		t.Errorf("CHATD_DATA_DIR %q is not on a writable volume (the root file system is read-only)", dir)
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("volumeMount %s: no such volume", m.Name)
		}
	}

	// Prometheus scrape annotations point at /metrics on the http port.
	ann := spec.Template.Annotations
	if ann["prometheus.io/scrape"] == "true" {
		if ann["prometheus.io/port"] != strconv.Itoa(int(ports["http"].ContainerPort)) || ann["prometheus.io/path"] != "/metrics" {
			t.Errorf("prometheus.io annotations %v: want port %d and path /metrics", ann, ports["http"].ContainerPort)
		}
	}
}

// resolvePort returns the container port number a probe's or Service's port means.
func resolvePort(p intstr.IntOrString, ports []corev1.ContainerPort) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

func selectorMatches(sel *metav1.LabelSelector, labels map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return false
	}
	return s.Matches(k8slabels.Set(labels))
}

func TestServicesAndDisruptionBudget(t *testing.T) {
	objs := manifests(t)
	sts := only[*appsv1.StatefulSet](t, objs, nil)
	podLabels := sts.Spec.Template.Labels
	c := sts.Spec.Template.Spec.Containers[0]
	containerPort := func(p intstr.IntOrString, proto corev1.Protocol) (corev1.ContainerPort, bool) {
		for _, cp := range c.Ports {
			if (p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal) && cp.Protocol == proto {
				return cp, true
			}
		}
		return corev1.ContainerPort{}, false
	}

	var headless, client int
	for _, o := range objs {
		svc, ok := o.obj.(*corev1.Service)
		if !ok {
			continue
		}
		if !selectorMatches(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, podLabels) {
			t.Errorf("Service %s: selector %v does not match the chatd pods' labels %v", svc.Name, svc.Spec.Selector, podLabels)
		}
		targets := map[string]bool{}
		for _, p := range svc.Spec.Ports {
			if msgs := validation.IsValidPortName(p.Name); len(msgs) > 0 {
				t.Errorf("Service %s port %q: %v", svc.Name, p.Name, msgs)
			}
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			cp, ok := containerPort(target, p.Protocol)
			if !ok {
				t.Errorf("Service %s port %s: target %s/%s is no container port", svc.Name, p.Name, target.String(), p.Protocol)
				continue
			}
			targets[cp.Name] = true
		}
		switch {
		case svc.Spec.ClusterIP == corev1.ClusterIPNone:
			headless++
			if svc.Name != sts.Spec.ServiceName {
				t.Errorf("headless Service %s is not the StatefulSet's serviceName %s", svc.Name, sts.Spec.ServiceName)
			}
			if !svc.Spec.PublishNotReadyAddresses {
				t.Errorf("headless Service %s: publishNotReadyAddresses must be true (a node is found through it before it is ready)", svc.Name)
			}
			for _, want := range []string{"gossip-tcp", "gossip-udp", "peer"} {
				if !targets[want] {
					t.Errorf("headless Service %s does not expose %s", svc.Name, want)
				}
			}
		default:
			client++
			if svc.Spec.PublishNotReadyAddresses {
				t.Errorf("client Service %s must route to ready pods only", svc.Name)
			}
			if !targets["http"] || len(targets) != 1 {
				t.Errorf("client Service %s exposes %v, want http only (gossip and peer links stay inside)", svc.Name, slices.Sorted(maps.Keys(targets)))
			}
		}
	}
	if headless != 1 || client != 1 {
		t.Errorf("%d headless and %d client Services, want one of each", headless, client)
	}

	pdb := only[*policyv1.PodDisruptionBudget](t, objs, nil)
	if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget: maxUnavailable %v minAvailable %v, want maxUnavailable 1 only", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
	if !selectorMatches(pdb.Spec.Selector, podLabels) {
		t.Errorf("PodDisruptionBudget selector %s does not match the chatd pods' labels %v", metav1.FormatLabelSelector(pdb.Spec.Selector), podLabels)
	}
	if !equalSelectors(pdb.Spec.Selector, sts.Spec.Selector) {
		t.Errorf("PodDisruptionBudget selector %s differs from the StatefulSet's %s",
			metav1.FormatLabelSelector(pdb.Spec.Selector), metav1.FormatLabelSelector(sts.Spec.Selector))
	}
}

func equalSelectors(a, b *metav1.LabelSelector) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestSecretTemplate(t *testing.T) {
	secret := only[*corev1.Secret](t, manifests(t), nil)
	if len(secret.Data) > 0 {
		t.Error("the template uses stringData only (readable placeholders)")
	}
	if len(secret.StringData) == 0 {
		t.Fatal("the Secret template has no keys")
	}
	for k, v := range secret.StringData {
		if msgs := validation.IsConfigMapKey(k); len(msgs) > 0 {
			t.Errorf("key %q: %v", k, msgs)
		}
		if !strings.Contains(v, "REPLACE_ME") {
			t.Errorf("key %q: its value %q is not marked REPLACE_ME: the template must hold no usable secret", k, v)
		}
	}
}

// registeredMetrics returns the chatd_ metric names the Go code declares (string
// literals in non-test files), and the names of the Go runtime and process
// collectors that cmd/chatd registers.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	lit := regexp.MustCompile(`"(chatd_[a-z0-9_]*[a-z0-9])"`)
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "data", "bin", "deploy", "testdata", "node_modules", "loadtest", "chatload": // the load tester reads names, it registers none
				if path != repoRoot {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join(repoRoot, "cmd", "chatd", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(main, []byte("collectors.NewGoCollector(")) && bytes.Contains(main, []byte("collectors.NewProcessCollector(")) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			names[mf.GetName()] = true
		}
	}
	names["up"] = true // Prometheus's own, per target
	return names
}

// dashboard is the part of Grafana's dashboard model the checks read.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      any    `json:"query"`
			Multi      bool   `json:"multi"`
			IncludeAll bool   `json:"includeAll"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

var (
	metricInSelector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}`)
	anyChatdName     = regexp.MustCompile(`\bchatd_[a-z0-9_]+`)
	rateOf           = regexp.MustCompile(`\b(rate|irate|increase)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	quantileForm     = regexp.MustCompile(`^histogram_quantile\(0?\.\d+, sum by \(([a-z_, ]+)\) \(rate\(([a-z0-9_]+)_bucket\{`)
)

// checkExpr checks one PromQL expression; it returns the metric names it uses.
func checkExpr(expr string, known map[string]bool) (used []string, problems []string) {
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	depth := map[rune]int{}
	pairs := map[rune]rune{')': '(', '}': '{', ']': '['}
	inString := false
	for _, r := range expr {
		switch {
		case r == '"':
			inString = !inString
		case inString:
		case r == '(' || r == '{' || r == '[':
			depth[r]++
		case pairs[r] != 0:
			depth[pairs[r]]--
			if depth[pairs[r]] < 0 {
				bad("unbalanced %q", r)
			}
		}
	}
	for r, d := range depth {
		if d != 0 {
			bad("unbalanced %q", r)
		}
	}
	base := func(name string) string {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suf); ok && known[b] {
				return b
			}
		}
		return name
	}
	for _, m := range metricInSelector.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		if name == "by" || name == "without" {
			continue
		}
		if !known[base(name)] {
			bad("metric %s is not registered by the code", name)
		}
		used = append(used, base(name))
		if !strings.Contains(m[2], `instance=~"$instance"`) {
			bad("selector %s{%s} does not filter on instance=~\"$instance\"", name, m[2])
		}
	}
	for _, name := range anyChatdName.FindAllString(expr, -1) {
		if !slices.Contains(used, base(name)) {
			bad("metric %s appears without a {…} selector", name)
		}
	}
	for _, m := range rateOf.FindAllStringSubmatch(expr, -1) {
		if name := m[2]; !strings.HasSuffix(name, "_total") && !strings.HasSuffix(name, "_bucket") &&
			!strings.HasSuffix(name, "_sum") && !strings.HasSuffix(name, "_count") {
			bad("%s() of %s, which is not a counter", m[1], name)
		}
	}
	for _, part := range strings.Split(expr, "histogram_quantile")[1:] {
		m := quantileForm.FindStringSubmatch("histogram_quantile" + part)
		if m == nil {
			bad("write histogram_quantile as histogram_quantile(0.99, sum by (le) (rate(NAME_bucket{…}[…])))")
			continue
		}
		if !slices.Contains(strings.Split(strings.ReplaceAll(m[1], " ", ""), ","), "le") {
			bad("histogram_quantile over %s: the sum must keep le", m[2])
		}
	}
	return used, problems
}

func TestCheckExprCatchesMistakes(t *testing.T) {
	known := map[string]bool{"chatd_a_total": true, "chatd_h_seconds": true, "chatd_g": true}
	for _, expr := range []string{
		`rate(chatd_b_total{instance=~"$instance"}[5m])`,                                                        // unknown metric
		`rate(chatd_a_total{job="x"}[5m])`,                                                                      // no instance filter
		`rate(chatd_g{instance=~"$instance"}[5m])`,                                                              // rate of a gauge
		`sum(rate(chatd_a_total{instance=~"$instance"}[5m])`,                                                    // unbalanced
		`histogram_quantile(0.99, sum by (instance) (rate(chatd_h_seconds_bucket{instance=~"$instance"}[5m])))`, // le dropped
		`chatd_g`, // no selector
	} {
		if _, problems := checkExpr(expr, known); len(problems) == 0 {
			t.Errorf("no problem found in %s", expr)
		}
	}
	good := `histogram_quantile(0.99, sum by (le) (rate(chatd_h_seconds_bucket{instance=~"$instance"}[$__rate_interval])))`
	if _, problems := checkExpr(good, known); len(problems) > 0 {
		t.Errorf("%s: %v", good, problems)
	}
}

func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Errorf("uid %q title %q schemaVersion %d: all are needed", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Name == "instance" && !(v.Multi || v.IncludeAll) {
			t.Error("the instance variable must allow all or several nodes")
		}
	}
	if vars["instance"] != "query" || vars["datasource"] != "datasource" {
		t.Errorf("templating variables %v: want instance (query) and datasource (datasource)", vars)
	}

	known := registeredMetrics(t)
	used := map[string]bool{}
	ids := map[int]bool{}
	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	for _, p := range all {
		name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if ids[p.ID] {
			t.Errorf("%s: id used twice", name)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W < 1 || g.X < 0 || g.X+g.W > 24 || g.H < 1 {
			t.Errorf("%s: gridPos %+v outside the 24-column grid", name, g)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("%s: datasource must be the ${datasource} variable", name)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no query", name)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("%s: refId %q missing or repeated", name, tg.RefID)
			}
			refs[tg.RefID] = true
			names, problems := checkExpr(tg.Expr, known)
			for _, pr := range problems {
				t.Errorf("%s, %s: %s\n\t%s", name, tg.RefID, pr, tg.Expr)
			}
			for _, n := range names {
				used[n] = true
			}
		}
	}
	// The families operators watch (DESIGN.md "Observability" and the cluster's).
	for _, m := range []string{
		"chatd_connections", "chatd_messages_committed_total", "chatd_group_commit_batch_size",
		"chatd_group_commit_seconds", "chatd_fanout_deliveries_total", "chatd_fanout_seconds", "chatd_slow_consumer_disconnects_total",
		"chatd_peer_link_frames_total", "chatd_rooms_owned", "chatd_gossip_members", "chatd_ownership_changes_total",
		"chatd_fenced_writes_total", "chatd_store_errors_total", "chatd_redis_errors_total", "chatd_rate_limited_total",
		"chatd_gap_repairs_total", "chatd_ring_changes_total", "go_goroutines", "go_memstats_heap_inuse_bytes",
		"chatd_ws_frames_in_total", "chatd_ws_frames_out_total", "chatd_ws_frames_dropped_total", "chatd_ws_joins_total",
		"chatd_peer_link_bytes_out_total", "chatd_peer_link_reconnects_total", "chatd_peer_link_queue_resets_total", "chatd_peer_links",
	} {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
	t.Logf("%d panels over %d metrics", len(all), len(used))
}

// TestLocalClusterScript checks that `make cluster`'s script parses (running it is
// a manual step: it needs free ports and minutes).
func TestLocalClusterScript(t *testing.T) {
	const script = "local/cluster.sh"
	st, err := os.Stat(script)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("%s is not executable", script)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("bash is required to check deploy/local/cluster.sh (Debian package bash)")
		}
		t.Skip("no bash")
	}
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Errorf("bash -n %s: %v\n%s", script, err, out)
	}
}
