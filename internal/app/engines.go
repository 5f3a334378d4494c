package app

import (
	"context"
	"fmt"

	"github.com/callrec/callrec/internal/config"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcribe/aws"
	"github.com/callrec/callrec/internal/transcribe/openai"
	"github.com/callrec/callrec/internal/transcribe/sphinx"
)

// NewEngine makes the transcription engine transcribe.engine names.
func NewEngine(ctx context.Context, cfg *config.Config) (transcribe.Engine, error) {
	t := cfg.Transcribe
	switch t.Engine {
	case "sphinx", "":
		e, err := sphinx.New(sphinx.Config{ModelDir: t.SphinxModelDir})
		if err != nil {
			return nil, fmt.Errorf("transcribe.engine sphinx: %w", err)
		}
		return e, nil
	case "openai":
		e, err := openai.New(openai.Config{URL: t.URL, APIKey: t.APIKey, Model: t.Model, Language: t.Language, SampleRate: t.SampleRate})
		if err != nil {
			return nil, fmt.Errorf("transcribe.engine openai: %w", err)
		}
		return e, nil
	case "aws":
		e, err := aws.New(ctx, aws.Config{
			Region: t.AWSRegion, Bucket: t.AWSBucket, Prefix: t.AWSPrefix,
			DataAccessRoleARN: t.AWSRoleARN, LanguageCode: t.Language, Endpoint: t.AWSEndpoint,
		})
		if err != nil {
			return nil, fmt.Errorf("transcribe.engine aws: %w", err)
		}
		return e, nil
	}
	return nil, fmt.Errorf("transcribe.engine %q: not an engine (sphinx, openai or aws)", t.Engine)
}
