// Discoblocks driver for disk.csi.azure.com (Azure Disk CSI): the nine contract
// exports and the optional GetResizePolicy, each a pure function from azure.h registered with the
// SDK, which reads the inputs, applies the outcome rules and writes the answer.
#include "azure.h"

DISCOBLOCKS_IS_STORAGE_CLASS_VALID(azure::IsStorageClassValid)
DISCOBLOCKS_GET_STORAGE_CLASS_ALLOWED_TOPOLOGY(azure::AllowedTopology)
DISCOBLOCKS_GET_PVC_STUB(discoblocks::driver::PvcStub)
DISCOBLOCKS_GET_CSI_DRIVER_NAMESPACE(azure::Namespace)
DISCOBLOCKS_GET_CSI_DRIVER_POD_LABELS(azure::PodLabels)
DISCOBLOCKS_GET_PRE_MOUNT_COMMAND(azure::PreMountCommand)
DISCOBLOCKS_GET_PRE_RESIZE_COMMAND(azure::PreResizeCommand)
DISCOBLOCKS_IS_FILE_SYSTEM_MANAGED(azure::FileSystemManaged)
DISCOBLOCKS_WAIT_FOR_VOLUME_ATTACHMENT_META(azure::AttachmentMetaKey)
DISCOBLOCKS_GET_RESIZE_POLICY(azure::ResizePolicy)
