// openapi-generator's `java` client (library `native`: java.net.http + Jackson) against the
// local mock. run.py generates com.threedcart.client from openapi/customers.yaml and compiles this
// file with it, against Jackson from Debian. An error answer throws ApiException: the idiomatic
// check is `catch (ApiException e)` and `e.getCode()`; a bodiless 404 has an empty getResponseBody().
//
// Environment: THREEDCART_BASE_URL (loopback only), THREEDCART_SECURE_URL, THREEDCART_PRIVATE_KEY,
// THREEDCART_TOKEN, POLYGLOT_EMAIL. Prints one JSON object; exits 1 on any surprise.
import com.fasterxml.jackson.databind.ObjectMapper;
import com.threedcart.client.ApiClient;
import com.threedcart.client.ApiException;
import com.threedcart.client.api.CustomersApi;
import com.threedcart.client.api.CustomersApi.APICreateCustomerRequest;
import com.threedcart.client.api.CustomersApi.APIGetCustomerRequest;
import com.threedcart.client.api.CustomersApi.APIListCustomersRequest;
import com.threedcart.client.model.Customer;
import com.threedcart.client.model.CustomerCreate;
import com.threedcart.client.model.CustomerList;
import com.threedcart.client.model.ListCustomers200Response;
import com.threedcart.client.model.WriteResultList;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

public final class Main {
    static final int MISSING_ID = 2147483000;

    static String env(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) throw new IllegalStateException(name + " is not set");
        return value;
    }

    static void check(boolean condition, String message) {
        if (!condition) throw new IllegalStateException(message);
    }

    static int count(CustomersApi api) throws ApiException {
        ListCustomers200Response answer = api.listCustomers(APIListCustomersRequest.newBuilder().countonly(1).build());
        // oneOf: the page or the count, told apart by the JSON's shape
        check(answer.getActualInstance() instanceof com.threedcart.client.model.CountResult, "count: a page instead of {TotalCount}");
        return answer.getCountResult().getTotalCount();
    }

    public static void main(String[] args) throws Exception {
        String base = env("THREEDCART_BASE_URL");
        String host = URI.create(base).getHost();
        check(Set.of("127.0.0.1", "localhost", "[::1]").contains(host), "refusing non-loopback base URL " + base);

        ApiClient client = new ApiClient();
        client.updateBaseUri(base);
        // java.net.http's default client asks a cleartext server to upgrade to HTTP/2 (`Upgrade:
        // h2c`, on the POST with its body too); the mock ignores the upgrade, as HTTP allows, and
        // answers in HTTP/1.1 with the body read. Over HTTPS, as with the real service, HTTP/2
        // comes from TLS (ALPN) without that header.
        // The spec's three apiKey headers; the native library leaves authentication to the caller.
        String secureUrl = env("THREEDCART_SECURE_URL"), privateKey = env("THREEDCART_PRIVATE_KEY"), token = env("THREEDCART_TOKEN");
        client.setRequestInterceptor(request -> request.header("SecureURL", secureUrl).header("PrivateKey", privateKey).header("Token", token));
        CustomersApi api = new CustomersApi(client);

        int before = count(api);

        ListCustomers200Response page = api.listCustomers(APIListCustomersRequest.newBuilder().limit(5).offset(1).build());
        check(page.getActualInstance() instanceof CustomerList, "list: not a page");
        List<Integer> ids = new ArrayList<>();
        for (Customer c : page.getCustomerList()) ids.add(c.getCustomerID());

        CustomerCreate body = new CustomerCreate().email(env("POLYGLOT_EMAIL")).password("");
        WriteResultList created = api.createCustomer(APICreateCustomerRequest.newBuilder().customerCreate(body).build());
        check(!created.isEmpty(), "create: an empty write result list");
        int id = Integer.parseInt(created.get(0).getValue());

        CustomerList got = api.getCustomer(APIGetCustomerRequest.newBuilder().id(id).build());
        check(got.size() == 1 && got.get(0).getCustomerID() == id, "get: not the customer created");

        Map<String, Object> missing = new LinkedHashMap<>();
        try {
            api.getCustomer(APIGetCustomerRequest.newBuilder().id(MISSING_ID).build());
            throw new IllegalStateException("get of a missing id succeeded");
        } catch (ApiException e) {
            missing.put("status", e.getCode());
            missing.put("check", "catch (ApiException e) / e.getCode()");
            String text = e.getResponseBody();
            missing.put("body", text == null || text.isEmpty() ? null : new ObjectMapper().readTree(text));
        }

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("client", "java");
        out.put("count", before);
        out.put("page", ids);
        out.put("created", id);
        out.put("email", got.get(0).getEmail());
        out.put("countAfter", count(api));
        out.put("missing", missing);
        System.out.println(new ObjectMapper().writeValueAsString(out));
    }
}
