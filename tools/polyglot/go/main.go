// openapi-generator's `go` client against the local mock. run.py generates package threedcart
// from openapi/customers.yaml next to this file and builds both with Debian's Go, offline (the
// only dependency, gopkg.in/validator.v2, is replaced by ./validator: see its README).
// An error answer returns a non-nil error and the *http.Response: the idiomatic check is
// `err != nil` with `httpRes.StatusCode` (or errors.As to *threedcart.GenericOpenAPIError);
// a bodiless 404 has an empty Body() and no Model().
//
// Environment: THREEDCART_BASE_URL (loopback only), THREEDCART_SECURE_URL, THREEDCART_PRIVATE_KEY,
// THREEDCART_TOKEN, POLYGLOT_EMAIL. Prints one JSON object; exits 1 on any surprise.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"threedcart.polyglot/consumer/threedcart"
)

const missingID = 2147483000

func env(name string) string {
	value := os.Getenv(name)
	if value == "" {
		fail(fmt.Errorf("%s is not set", name))
	}
	return value
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func check(ok bool, format string, args ...interface{}) {
	if !ok {
		fail(fmt.Errorf(format, args...))
	}
}

func count(ctx context.Context, api *threedcart.CustomersAPIService) int32 {
	answer, res, err := api.ListCustomers(ctx).Countonly(1).Execute()
	check(err == nil, "count: %v", err)
	check(res.StatusCode == 200 && answer.CountResult != nil, "count: status %d, not {TotalCount}", res.StatusCode)
	return answer.CountResult.TotalCount
}

func main() {
	base := env("THREEDCART_BASE_URL")
	parsed, err := url.Parse(base)
	check(err == nil, "bad base URL %s", base)
	host := parsed.Hostname()
	check(host == "127.0.0.1" || host == "localhost" || host == "::1", "refusing non-loopback base URL %s", base)

	cfg := threedcart.NewConfiguration()
	cfg.Servers = threedcart.ServerConfigurations{{URL: base}}
	api := threedcart.NewAPIClient(cfg).CustomersAPI
	// The spec's three apiKey security schemes, by name.
	ctx := context.WithValue(context.Background(), threedcart.ContextAPIKeys, map[string]threedcart.APIKey{
		"SecureURL":  {Key: env("THREEDCART_SECURE_URL")},
		"PrivateKey": {Key: env("THREEDCART_PRIVATE_KEY")},
		"Token":      {Key: env("THREEDCART_TOKEN")},
	})

	before := count(ctx, api)

	page, res, err := api.ListCustomers(ctx).Limit(5).Offset(1).Execute()
	check(err == nil, "list: %v", err)
	check(page.ArrayOfCustomer != nil, "list: status %d, not a page", res.StatusCode)
	ids := []int32{}
	for _, c := range *page.ArrayOfCustomer {
		ids = append(ids, c.GetCustomerID())
	}

	// The required fields only; Email and Password are nullable strings in the spec.
	body := threedcart.NewCustomerCreate(
		*threedcart.NewNullableString(threedcart.PtrString(env("POLYGLOT_EMAIL"))),
		*threedcart.NewNullableString(threedcart.PtrString("")),
	)
	created, res, err := api.CreateCustomer(ctx).CustomerCreate(*body).Execute()
	check(err == nil && res.StatusCode == 201 && len(created) > 0, "create: %v", err)
	id, err := strconv.Atoi(created[0].Value)
	check(err == nil, "create: Value %q is not an id", created[0].Value)

	got, _, err := api.GetCustomer(ctx, int32(id)).Execute()
	check(err == nil && len(got) == 1 && got[0].GetCustomerID() == int32(id), "get %d: %v", id, err)

	missing := map[string]interface{}{}
	_, res, err = api.GetCustomer(ctx, missingID).Execute()
	check(err != nil, "get of a missing id succeeded")
	var apiErr *threedcart.GenericOpenAPIError
	check(errors.As(err, &apiErr) && res != nil, "get of a missing id: %v", err)
	missing["status"] = res.StatusCode
	missing["check"] = "err != nil / httpRes.StatusCode"
	if len(apiErr.Body()) == 0 {
		missing["body"] = nil
	} else {
		missing["body"] = json.RawMessage(apiErr.Body())
	}

	out, err := json.Marshal(map[string]interface{}{
		"client":     "go",
		"count":      before,
		"page":       ids,
		"created":    id,
		"email":      got[0].GetEmail(),
		"countAfter": count(ctx, api),
		"missing":    missing,
	})
	check(err == nil, "output: %v", err)
	fmt.Println(string(out))
}
