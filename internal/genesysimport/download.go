package genesysimport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/genesys"
)

// maxExpiries is how many result URLs of one recording may expire before
// it is reported as failed.
const maxExpiries = 5

// download brings in the missing recordings through batch download
// requests of at most genesys.MaxBatchItems. A result URL that expired is
// asked for again in a later batch; a recording still being transcoded
// waits (checked with GET …/recordings/{id}, which answers 202 until it is
// ready) and joins a later batch, until TranscodeWait runs out.
func (im *importer) download(ctx context.Context, pending []candidate) error {
	waiting := map[string]time.Time{} // recording id -> first seen not ready
	waitingCand := map[string]candidate{}
	expiries := map[string]int{}
	for len(pending) > 0 || len(waiting) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(pending) == 0 {
			if err := sleepCtx(ctx, im.cfg.Poll); err != nil {
				return err
			}
			for id, since := range waiting {
				c := waitingCand[id]
				ready, err := im.cfg.Genesys.RecordingReady(ctx, c.conv.ConversationID, c.id)
				switch {
				case err != nil:
					if ctx.Err() != nil {
						return ctx.Err()
					}
					im.fail(c.conv.ConversationID, c.id, "asking Genesys whether it is transcoded: "+err.Error())
				case ready:
					pending = append(pending, c)
				case im.cfg.Now().Sub(since) > im.cfg.TranscodeWait:
					im.fail(c.conv.ConversationID, c.id, fmt.Sprintf("Genesys was still transcoding it after %s", im.cfg.TranscodeWait))
				default:
					continue
				}
				delete(waiting, id)
				delete(waitingCand, id)
			}
			continue
		}
		n := min(len(pending), genesys.MaxBatchItems)
		batch := pending[:n]
		pending = pending[n:]
		again, notReady, err := im.runBatch(ctx, batch)
		if err != nil {
			return err
		}
		for _, c := range again {
			expiries[c.id]++
			if expiries[c.id] > maxExpiries {
				im.fail(c.conv.ConversationID, c.id, fmt.Sprintf("its download URL expired %d times before it could be read", expiries[c.id]))
				continue
			}
			im.emit(Event{Kind: EventExpired, ConversationID: c.conv.ConversationID, RecordingID: c.id, Message: "download URL expired; asking again"})
			pending = append(pending, c)
		}
		for _, c := range notReady {
			if _, ok := waiting[c.id]; !ok {
				waiting[c.id] = im.cfg.Now()
				waitingCand[c.id] = c
				im.emit(Event{Kind: EventWaiting, ConversationID: c.conv.ConversationID, RecordingID: c.id, Message: "still being transcoded; coming back later"})
			}
		}
	}
	return nil
}

// runBatch requests one batch, waits for its results, and downloads and
// ingests each ready result. It returns the recordings whose URL expired
// and those not ready yet; every other recording is settled or failed.
func (im *importer) runBatch(ctx context.Context, batch []candidate) (expired, notReady []candidate, err error) {
	items := make([]genesys.BatchItem, len(batch))
	byID := make(map[string]candidate, len(batch))
	for i, c := range batch {
		items[i] = genesys.BatchItem{ConversationID: c.conv.ConversationID, RecordingID: c.id}
		byID[c.id] = c
	}
	failAll := func(reason string) {
		for _, c := range batch {
			im.fail(c.conv.ConversationID, c.id, reason)
		}
	}
	id, err := im.cfg.Genesys.CreateBatch(ctx, items)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		failAll("requesting its download: " + err.Error())
		return nil, nil, nil
	}
	deadline := im.cfg.Now().Add(im.cfg.BatchWait)
	var st genesys.BatchStatus
	for {
		st, err = im.cfg.Genesys.BatchStatus(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			failAll("reading its batch download " + id + ": " + err.Error())
			return nil, nil, nil
		}
		if st.Complete() {
			break
		}
		if im.cfg.Now().After(deadline) {
			failAll(fmt.Sprintf("its batch download %s did not complete within %s", id, im.cfg.BatchWait))
			return nil, nil, nil
		}
		if err := sleepCtx(ctx, im.cfg.Poll); err != nil {
			return nil, nil, err
		}
	}

	var mu sync.Mutex
	var ready []genesys.BatchResult
	for _, r := range st.Results {
		c, ok := byID[r.RecordingID]
		if !ok {
			continue
		}
		delete(byID, r.RecordingID)
		if r.ResultURL == "" {
			// An errorMsg for an audio recording that metadata lists means
			// "not yet" (transcoding); the wait bounds how long we believe it.
			notReady = append(notReady, c)
			continue
		}
		ready = append(ready, r)
	}
	for _, c := range byID { // no result at all: ask again later
		notReady = append(notReady, c)
	}
	lookup := make(map[string]candidate, len(batch))
	for _, c := range batch {
		lookup[c.id] = c
	}
	parallel(ctx, im.cfg.Workers, ready, func(r genesys.BatchResult) {
		c := lookup[r.RecordingID]
		// Another run (any token) may have brought it in meanwhile.
		if hid, err := im.present(ctx, c.id); err == nil && hid != "" {
			im.skipped(c, hid)
			return
		}
		path, sum, err := im.fetch(ctx, c, r.ResultURL)
		switch {
		case errors.Is(err, genesys.ErrURLExpired):
			mu.Lock()
			expired = append(expired, c)
			mu.Unlock()
			return
		case err != nil:
			if ctx.Err() == nil {
				im.fail(c.conv.ConversationID, c.id, "downloading it: "+err.Error())
			}
			return
		}
		defer os.Remove(path)
		if err := im.ingest(ctx, c, path, r.ContentType, sum); err != nil && ctx.Err() == nil {
			im.fail(c.conv.ConversationID, c.id, describe(err))
		}
	})
	return expired, notReady, ctx.Err()
}

// describe renders an error, with holdfast's code and message when the
// server refused.
func describe(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return fmt.Sprintf("holdfast refused it (%d %s): %s", ce.Status, ce.Code, ce.Message)
	}
	return err.Error()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
