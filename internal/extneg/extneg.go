// Package extneg runs an opening handshake with extensions negotiated by
// package extension: what conn.Accept and conn.Dial share with raw.Accept
// and raw.Dial.
package extneg

import (
	"context"
	"net/http"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/handshake"
)

// Upgrade upgrades r with u and, when exts is not empty, negotiates them
// with extension.NegotiateRequest in place of u.NegotiateExtensions.
// report, if not nil, is given the negotiation's outcome once it ran.
func Upgrade(w http.ResponseWriter, r *http.Request, u handshake.Upgrader, exts []extension.Extension,
	report func(*http.Request, *extension.Negotiation)) (*handshake.Result, []extension.Agreed, error) {
	var agreed []extension.Agreed
	if len(exts) > 0 {
		u.NegotiateExtensions = func(offers []string) (string, error) {
			n, err := extension.NegotiateRequest(r, exts, offers)
			if err != nil {
				return "", err
			}
			if report != nil {
				report(r, n)
			}
			agreed = n.AgreedValues()
			return n.Response, nil
		}
	}
	res, err := u.Upgrade(w, r)
	if err != nil {
		return nil, nil, err
	}
	return res, agreed, nil
}

// Dial dials url with d and, when exts is not empty, offers them and
// checks the server's answer with extension.Confirm in place of
// d.Extensions and d.CheckExtensions.
func Dial(ctx context.Context, url string, d handshake.Dialer, exts []extension.Extension) (*handshake.Result, *http.Response, []extension.Agreed, error) {
	var agreed []extension.Agreed
	if len(exts) > 0 {
		d.Extensions = extension.Offers(exts)
		d.CheckExtensions = func(resp string) error {
			a, err := extension.Confirm(exts, resp)
			agreed = a
			return err
		}
	}
	res, resp, err := d.Dial(ctx, url)
	if err != nil {
		return nil, resp, nil, err
	}
	return res, resp, agreed, nil
}
