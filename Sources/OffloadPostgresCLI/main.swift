print("offload-postgres")
