import Offload

// Placeholder until the process pool lands: the worker fixture for ProcessPool tests.
print(WorkerCount.available)
