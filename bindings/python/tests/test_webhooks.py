"""eryxon.webhooks against the Standard Webhooks published test vectors.

The vectors are the reference libraries' (github.com/standard-webhooks/
standard-webhooks: libraries/python/tests/test_webhooks.py ``test_sign_function``,
``test_invalid_signature_raises_error`` and ``test_multi_sig_payload_is_valid``;
the same values in libraries/javascript/src/webhook.test.ts and
libraries/go/webhook_test.go). The HMAC is also recomputed here with the
standard library as an independent check.

Run from the repository root:

    ERYXON_LIBRARY=build/dev/liberyxon.so PYTHONPATH=bindings/python \\
        python3 -m unittest discover -s bindings/python/tests -t bindings/python
"""

import base64
import hashlib
import hmac
import threading
import unittest

import eryxon
from eryxon import webhooks

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
PAYLOAD = '{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
WRONG_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
OTHER_V1 = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
OTHER_V2 = "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="


def headers(signature=SIGNATURE, msg_id=MSG_ID, timestamp=str(TIMESTAMP)):
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}


class SignTest(unittest.TestCase):
    def test_published_vector(self):
        self.assertEqual(webhooks.sign(SECRET, MSG_ID, TIMESTAMP, PAYLOAD), SIGNATURE)
        self.assertEqual(webhooks.sign(SECRET[6:], MSG_ID, TIMESTAMP, PAYLOAD.encode()), SIGNATURE)

    def test_matches_stdlib_hmac(self):
        key = base64.b64decode(SECRET[6:])
        mac = hmac.new(key, f"{MSG_ID}.{TIMESTAMP}.{PAYLOAD}".encode(), hashlib.sha256).digest()
        self.assertEqual(SIGNATURE, "v1," + base64.b64encode(mac).decode())

    def test_signed_headers_and_rotation(self):
        fresh = webhooks.generate_secret()
        h = webhooks.signed_headers([fresh, SECRET], MSG_ID, TIMESTAMP, PAYLOAD)
        self.assertEqual(h["webhook-id"], MSG_ID)
        self.assertEqual(h["webhook-timestamp"], "1614265330")
        first, second = h["webhook-signature"].split(" ")
        self.assertEqual(first, webhooks.sign(fresh, MSG_ID, TIMESTAMP, PAYLOAD))
        self.assertEqual(second, SIGNATURE)
        webhooks.verify(SECRET, h, PAYLOAD, now=TIMESTAMP)
        webhooks.verify(fresh, h, PAYLOAD, now=TIMESTAMP)
        webhooks.verify([webhooks.generate_secret(), SECRET], headers(), PAYLOAD, now=TIMESTAMP)

    def test_generate_and_ids(self):
        s = webhooks.generate_secret(24)
        self.assertTrue(s.startswith("whsec_"))
        self.assertEqual(len(base64.b64decode(s[6:])), 24)
        self.assertEqual(len(base64.b64decode(webhooks.generate_secret()[6:])), 32)
        self.assertNotEqual(webhooks.generate_secret(), webhooks.generate_secret())
        with self.assertRaises(eryxon.InvalidArgument):
            webhooks.generate_secret(65)
        i = webhooks.new_message_id()
        self.assertTrue(i.startswith("msg_"))
        self.assertEqual(len(i), 30)
        self.assertNotEqual(i, webhooks.new_message_id())

    def test_bad_arguments(self):
        with self.assertRaises(eryxon.InvalidArgument):
            webhooks.sign(SECRET, "msg.1", TIMESTAMP, PAYLOAD)
        with self.assertRaises(eryxon.InvalidArgument):
            webhooks.sign(SECRET, MSG_ID, -1, PAYLOAD)
        with self.assertRaises(eryxon.InvalidArgument):
            webhooks.sign("whsec_tooshort", MSG_ID, TIMESTAMP, PAYLOAD)
        with self.assertRaises(eryxon.InvalidArgument):
            webhooks.sign([], MSG_ID, TIMESTAMP, PAYLOAD)
        with self.assertRaises(eryxon.InvalidArgument):
            webhooks.sign(SECRET + " ", MSG_ID, TIMESTAMP, PAYLOAD)
        with self.assertRaises(TypeError):
            webhooks.sign(SECRET, MSG_ID, float(TIMESTAMP), PAYLOAD)
        with self.assertRaises(TypeError):
            webhooks.sign(SECRET, MSG_ID, TIMESTAMP, 42)


class VerifyTest(unittest.TestCase):
    def test_accepts(self):
        webhooks.verify(SECRET, headers(), PAYLOAD, now=TIMESTAMP)
        webhooks.verify(SECRET, headers(), PAYLOAD.encode(), now=TIMESTAMP + 300)
        webhooks.verify(SECRET[6:], headers(), PAYLOAD, now=TIMESTAMP - 300)
        mixed = {"Webhook-Id": MSG_ID, "WEBHOOK-TIMESTAMP": str(TIMESTAMP),
                 "Webhook-Signature": SIGNATURE, "Content-Type": "application/json"}
        webhooks.verify(SECRET, mixed, PAYLOAD, now=TIMESTAMP)

    def test_system_clock(self):
        import time

        now = int(time.time())
        h = webhooks.signed_headers(SECRET, MSG_ID, now, PAYLOAD)
        webhooks.verify(SECRET, h, PAYLOAD)
        old = webhooks.signed_headers(SECRET, MSG_ID, now - 301 - 5, PAYLOAD)
        with self.assertRaises(eryxon.AuthenticationError):
            webhooks.verify(SECRET, old, PAYLOAD)

    def test_rejects_tampering_and_wrong_secret(self):
        with self.assertRaises(eryxon.AuthenticationError) as cm:
            webhooks.verify(SECRET, headers(), PAYLOAD + " ", now=TIMESTAMP)
        self.assertIn("no webhook-signature matches", cm.exception.message)
        with self.assertRaises(eryxon.AuthenticationError):
            webhooks.verify(webhooks.generate_secret(), headers(), PAYLOAD, now=TIMESTAMP)
        with self.assertRaises(eryxon.AuthenticationError):
            webhooks.verify(SECRET, headers(WRONG_SIGNATURE), PAYLOAD, now=TIMESTAMP)
        for bad in ("v1,dawfeoifkpqwoekfpqoekf", SIGNATURE[:8], "v1,"):
            with self.assertRaises(eryxon.AuthenticationError):
                webhooks.verify(SECRET, headers(bad), PAYLOAD, now=TIMESTAMP)

    def test_rejects_old_and_new_timestamps(self):
        with self.assertRaises(eryxon.AuthenticationError) as cm:
            webhooks.verify(SECRET, headers(), PAYLOAD, now=TIMESTAMP + 301)
        self.assertIn("too old", cm.exception.message)
        with self.assertRaises(eryxon.AuthenticationError) as cm:
            webhooks.verify(SECRET, headers(), PAYLOAD, now=TIMESTAMP - 301)
        self.assertIn("too new", cm.exception.message)
        webhooks.verify(SECRET, headers(), PAYLOAD, now=TIMESTAMP + 3600, tolerance=3600)

    def test_multiple_signatures_and_versions(self):
        multi = " ".join([OTHER_V1, OTHER_V2, SIGNATURE, OTHER_V1])
        webhooks.verify(SECRET, headers(multi), PAYLOAD, now=TIMESTAMP)
        for label in ("v2", "v1a"):
            with self.assertRaises(eryxon.AuthenticationError):
                webhooks.verify(SECRET, headers(label + SIGNATURE[2:]), PAYLOAD, now=TIMESTAMP)

    def test_rejects_missing_and_malformed_headers(self):
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            h = headers()
            del h[name]
            with self.assertRaises(eryxon.InvalidArgument) as cm:
                webhooks.verify(SECRET, h, PAYLOAD, now=TIMESTAMP)
            self.assertIn(name, cm.exception.message)
            h = headers()
            h[name] = ""
            with self.assertRaises(eryxon.InvalidArgument):
                webhooks.verify(SECRET, h, PAYLOAD, now=TIMESTAMP)
        for h in (headers(timestamp="hello"), headers(msg_id="a.b"), headers("garbage"),
                  dict(headers(), **{"Webhook-Id": MSG_ID})):
            with self.assertRaises(eryxon.InvalidArgument):
                webhooks.verify(SECRET, h, PAYLOAD, now=TIMESTAMP)
        with self.assertRaises(eryxon.InvalidArgument):
            webhooks.verify("whsec_!!", headers(), PAYLOAD, now=TIMESTAMP)
        with self.assertRaises(eryxon.InvalidArgument):
            webhooks.verify(SECRET, headers(), PAYLOAD, now=TIMESTAMP, tolerance=-1)

    def test_threads(self):
        errors = []

        def work():
            try:
                for _ in range(200):
                    webhooks.verify(SECRET, headers(), PAYLOAD, now=TIMESTAMP)
                    try:
                        webhooks.verify(SECRET, headers(WRONG_SIGNATURE), PAYLOAD, now=TIMESTAMP)
                    except eryxon.AuthenticationError as e:
                        assert "no webhook-signature matches" in e.message, e.message
                    else:
                        raise AssertionError("accepted a wrong signature")
            except Exception as e:  # reported on the main thread
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
