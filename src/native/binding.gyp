{
  "targets": [
    {
      "target_name": "feedchain_malloc",
      "sources": ["malloc.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
