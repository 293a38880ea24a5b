#!/usr/bin/python3
"""Drives the Data-in-Motion S3 gateway with boto3 (Debian's python3-boto3).

Usage: s3_boto3_client.py ENDPOINT WORKDIR
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Uploads the files of
WORKDIR/in with put_object, upload_file (multipart) and copy_object, reads them back into
WORKDIR/out (the caller compares SHA-256), and checks S3's answers to bad requests. Exits non-zero
with a message on the first thing that is not as S3 would have it.
"""
import hashlib
import json
import os
import sys
import urllib.request

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError


def expect_error(code, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        if got != code:
            sys.exit(f"expected {code}, got {got}: {e}")
        return
    sys.exit(f"expected {code}, the call succeeded")


def main():
    endpoint, work = sys.argv[1], sys.argv[2]
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                 signature_version="s3v4")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
    bucket = "boto3-bucket"
    s3.create_bucket(Bucket=bucket)
    names = sorted(os.listdir(os.path.join(work, "in")))
    out = os.path.join(work, "out")
    os.makedirs(out, exist_ok=True)
    report = {}

    # put_object with metadata, get_object, head_object.
    small = names[0]
    with open(os.path.join(work, "in", small), "rb") as f:
        body = f.read()
    put = s3.put_object(Bucket=bucket, Key="dir/" + small, Body=body, ContentType="text/plain",
                        Metadata={"owner": "ops"})
    if put["ETag"] != '"%s"' % hashlib.md5(body).hexdigest():
        sys.exit("put_object ETag is not the MD5 of the body: " + put["ETag"])
    got = s3.get_object(Bucket=bucket, Key="dir/" + small)
    with open(os.path.join(out, "get-" + small), "wb") as f:
        f.write(got["Body"].read())
    head = s3.head_object(Bucket=bucket, Key="dir/" + small)
    if head["Metadata"].get("owner") != "ops" or head["ContentType"] != "text/plain":
        sys.exit("metadata lost: %r" % head)
    rng = s3.get_object(Bucket=bucket, Key="dir/" + small, Range="bytes=1-10")["Body"].read()
    if rng != body[1:11]:
        sys.exit("range read returned other bytes")

    # upload_file: multipart above 5 MiB parts; download_file.
    big = names[-1]
    tc = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(os.path.join(work, "in", big), bucket, "big/" + big, Config=tc)
    etag = s3.head_object(Bucket=bucket, Key="big/" + big)["ETag"]
    if "-" not in etag:
        sys.exit("upload_file of a large file did not use multipart: " + etag)
    s3.download_file(bucket, "big/" + big, os.path.join(out, "download-" + big), Config=tc)
    report["multipart_etag"] = etag

    # copy_object, then a paginated listing that sees everything.
    s3.copy_object(Bucket=bucket, Key="copy/" + small, CopySource={"Bucket": bucket, "Key": "dir/" + small})
    got = s3.get_object(Bucket=bucket, Key="copy/" + small)["Body"].read()
    with open(os.path.join(out, "copy-" + small), "wb") as f:
        f.write(got)
    for i in range(7):
        s3.put_object(Bucket=bucket, Key="many/%02d" % i, Body=b"x" * i)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    if keys != sorted(keys) or len([k for k in keys if k.startswith("many/")]) != 7:
        sys.exit("paginated listing is wrong: %r" % keys)
    prefixes = s3.list_objects_v2(Bucket=bucket, Delimiter="/")["CommonPrefixes"]
    if sorted(p["Prefix"] for p in prefixes) != ["big/", "copy/", "dir/", "many/"]:
        sys.exit("common prefixes are wrong: %r" % prefixes)

    # A presigned URL works without credentials.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/" + small},
                                    ExpiresIn=300)
    with urllib.request.urlopen(url) as r:
        with open(os.path.join(out, "presigned-" + small), "wb") as f:
            f.write(r.read())

    # Keys at the limit: 1,024 bytes of UTF-8 work, 1,025 do not.
    long_key = ("\u00e9" * 512)  # 1,024 bytes
    s3.put_object(Bucket=bucket, Key=long_key, Body=b"long")
    if s3.get_object(Bucket=bucket, Key=long_key)["Body"].read() != b"long":
        sys.exit("1,024-byte key did not round-trip")
    expect_error("KeyTooLongError", s3.put_object, Bucket=bucket, Key=long_key + "x", Body=b"x")

    # S3's answers.
    expect_error("NoSuchKey", s3.get_object, Bucket=bucket, Key="no/such/key")
    expect_error("NoSuchBucket", s3.list_objects_v2, Bucket="no-such-bucket")
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket=bucket)
    expect_error("InvalidRange", s3.get_object, Bucket=bucket, Key="dir/" + small, Range="bytes=999999999-")
    expect_error("PreconditionFailed", s3.get_object, Bucket=bucket, Key="dir/" + small, IfMatch='"nope"')
    up = s3.create_multipart_upload(Bucket=bucket, Key="tiny-parts")
    p1 = s3.upload_part(Bucket=bucket, Key="tiny-parts", UploadId=up["UploadId"], PartNumber=1, Body=b"a")
    p2 = s3.upload_part(Bucket=bucket, Key="tiny-parts", UploadId=up["UploadId"], PartNumber=2, Body=b"b")
    expect_error("EntityTooSmall", s3.complete_multipart_upload, Bucket=bucket, Key="tiny-parts",
                 UploadId=up["UploadId"],
                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]},
                                            {"PartNumber": 2, "ETag": p2["ETag"]}]})
    expect_error("InvalidPart", s3.complete_multipart_upload, Bucket=bucket, Key="tiny-parts",
                 UploadId=up["UploadId"], MultipartUpload={"Parts": [{"PartNumber": 3, "ETag": p1["ETag"]}]})
    s3.abort_multipart_upload(Bucket=bucket, Key="tiny-parts", UploadId=up["UploadId"])
    expect_error("NoSuchUpload", s3.list_parts, Bucket=bucket, Key="tiny-parts", UploadId=up["UploadId"])
    bad = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=cfg,
                       aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key="not-the-secret")
    expect_error("SignatureDoesNotMatch", bad.list_objects_v2, Bucket=bucket)

    # delete_objects, then the bucket can go once it is empty.
    delete_keys = [{"Key": "many/%02d" % i} for i in range(7)]
    res = s3.delete_objects(Bucket=bucket, Delete={"Objects": delete_keys})
    if len(res.get("Deleted", [])) != 7 or res.get("Errors"):
        sys.exit("delete_objects: %r" % res)
    report["ok"] = True
    print(json.dumps(report))


if __name__ == "__main__":
    main()
