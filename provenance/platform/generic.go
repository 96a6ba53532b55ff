package platform

import (
	"context"
	"net/url"
)

// Generic is a platform of explicit values only, for build systems with
// no collector: it reads nothing from the environment and Detect never
// picks it. Collect checks the values as the other platforms check
// theirs (an absolute builder ID, a full ref, a full commit id) and
// records the source, if any, under externalParameters.source.
type Generic struct {
	BuilderID    string // required, an absolute URI
	BuildType    string // default GenericBuildType
	InvocationID string
	Source       Source // optional; Repository and Commit go together
	External     map[string]any
}

// Name implements Platform.
func (Generic) Name() string { return "generic" }

// Detect implements Platform: never, Generic has no markers.
func (Generic) Detect(Env) bool { return false }

// Collect implements Platform; env is not read.
func (g Generic) Collect(ctx context.Context, _ Env) (*Facts, error) {
	const name = "generic"
	if u, err := url.Parse(g.BuilderID); err != nil || u.Scheme == "" {
		return nil, factErr(ErrInvalidFact, name, "BuilderID", "%q is not an absolute URI", g.BuilderID)
	}
	bt := g.BuildType
	if bt == "" {
		bt = GenericBuildType
	}
	if u, err := url.Parse(bt); err != nil || u.Scheme == "" {
		return nil, factErr(ErrInvalidFact, name, "BuildType", "%q is not an absolute URI", bt)
	}
	external := map[string]any{}
	for k, v := range g.External {
		external[k] = v
	}
	src := g.Source
	if src.Repository != "" || src.Commit != "" || src.Ref != "" {
		r := reader{platform: name, env: MapEnv{Vars: map[string]string{"Source.Commit": src.Commit}}}
		if _, err := r.commit("Source.Commit"); err != nil {
			return nil, err
		}
		repo, err := r.gitURL("Source.Repository", src.Repository)
		if err != nil {
			return nil, err
		}
		src.Repository = repo
		if src.Ref != "" {
			if err := r.fullRef("Source.Ref", src.Ref); err != nil {
				return nil, err
			}
		}
		external["source"] = sourceParam(src)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return reader{platform: name}.done(&Facts{
		Platform:     name,
		BuilderID:    g.BuilderID,
		BuildType:    bt,
		InvocationID: g.InvocationID,
		Source:       src,
		External:     external,
	})
}
